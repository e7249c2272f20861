// status and check: read-only views of the supervise/ folders. They take no
// lock and accept a scan directory with invalid definitions, so a broken
// system can still be looked at.
import { EXIT_FAILED, EXIT_OK } from '../defaults.js';
import type { Scan, ScanEntry } from '../scan.js';
import { readService, type ServiceType } from '../servicedir.js';
import { type Ctx, defaultEntries, loadScan, namedEntries } from './context.js';
import { observe, type ShownStatus, shownStatus } from './observe.js';
import { exitText } from './report.js';

const typeOf = (e: ScanEntry, scan: Scan): ServiceType => {
  const known = scan.services.get(e.name);
  if (known) return known.type;
  const read = readService(e.dir);
  return read.ok ? read.def.type : 'longrun';
};

const entriesFor = (ctx: Ctx, names: readonly string[], withDown: boolean): { scan: Scan; entries: ScanEntry[] } | number => {
  const scan = loadScan(ctx, false);
  if (typeof scan === 'number') return scan;
  const entries = names.length > 0 ? namedEntries(ctx, scan, names) : defaultEntries(scan, withDown);
  return typeof entries === 'number' ? entries : { scan, entries };
};

export const showStatus = (e: ScanEntry, scan: Scan): ShownStatus => shownStatus(observe(e.name, e.dir), typeOf(e, scan));

/** 45s, 3m07s, 2h05m, 3d04h */
export const duration = (ms: number): string => {
  const s = Math.max(0, Math.floor(ms / 1000));
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${pad(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86400)}d${pad(Math.floor(s / 3600) % 24)}h`;
};

const readiness = (s: ShownStatus): string => {
  if (s.state === 'up') return 'ready';
  if (s.state === 'starting') return 'not ready';
  return '-';
};

/** One row per service: NAME STATE PID UPTIME RESTARTS LAST-EXIT READY. */
export const statusTable = (rows: readonly ShownStatus[], now = Date.now()): string[] => {
  const head = ['NAME', 'STATE', 'PID', 'UPTIME', 'RESTARTS', 'LAST EXIT', 'READY'];
  const body = rows.map((s) => [
    s.name,
    s.state,
    s.pid === null ? '-' : String(s.pid),
    s.pid !== null && s.startedAt ? duration(now - Date.parse(s.startedAt)) : '-',
    String(s.restarts),
    s.lastExit === null ? '-' : exitText(s.lastExit),
    readiness(s),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  return [head, ...body].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
};

export const cmdStatus = (ctx: Ctx, names: readonly string[]): number => {
  const found = entriesFor(ctx, names, true);
  if (typeof found === 'number') return found;
  const rows = found.entries.map((e) => showStatus(e, found.scan));
  if (ctx.json) ctx.out(JSON.stringify(rows, null, 2));
  else for (const line of statusTable(rows)) ctx.out(line);
  return EXIT_OK;
};

/** Exit 0 when every service is up and ready; else 1 and a line per service that is not. */
export const cmdCheck = (ctx: Ctx, names: readonly string[]): number => {
  const found = entriesFor(ctx, names, false);
  if (typeof found === 'number') return found;
  const bad = found.entries.map((e) => showStatus(e, found.scan)).filter((s) => s.state !== 'up');
  if (ctx.json) {
    ctx.out(JSON.stringify(bad.map((s) => ({ name: s.name, state: s.state, supervised: s.supervised, lastError: s.lastError }))));
  } else {
    for (const s of bad) ctx.out(`${s.name}: ${s.supervised ? s.state : `${s.state} (not supervised)`}${s.lastError ? `: ${s.lastError}` : ''}`);
  }
  return bad.length > 0 ? EXIT_FAILED : EXIT_OK;
};
