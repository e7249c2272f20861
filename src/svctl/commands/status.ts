// svctl status [NAME...]: a read-only view of the supervise/ folders. It takes
// no lock and accepts a scan directory with invalid definitions, so a broken
// system can still be looked at.
import { EXIT_OK } from '../../defaults.js';
import { collectErrors } from '../../errors.js';
import { lookup, type ScanEntry } from '../../scan.js';
import { type Ctx, loadEntries } from '../context.js';
import { templateOf, templatesOf } from '../engine/instances.js';
import { entryStatus, type ShownStatus } from '../engine/observe.js';
import { cpuText, memoryText, type ShownUsage, usageOf } from '../engine/usage.js';
import { colors, paintState } from '../output/colors.js';
import { exitText } from '../../vocabulary.js';

/** 45s, 3m07s, 2h05m, 3d04h */
export const duration = (ms: number): string => {
  const s = Math.max(0, Math.floor(ms / 1000));
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${pad(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86400)}d${pad(Math.floor(s / 3600) % 24)}h`;
};

/**
 * The READY column: `ready (checked)` when a notification-fd line or a
 * `check` confirmed it, `running (unchecked)` for a longrun with neither
 * (up as soon as it runs: nothing says it serves), `ready` for a oneshot
 * (its run succeeded) or a supervisor too old to say how, `not ready` while
 * starting, else `-`.
 */
export const readiness = (s: Pick<ShownStatus, 'state' | 'type' | 'settings'>): string => {
  if (s.state === 'starting') return 'not ready';
  if (s.state !== 'up') return '-';
  const how = s.type === 'oneshot' ? undefined : s.settings?.readiness;
  if (how === 'none') return 'running (unchecked)';
  if (how === 'notification-fd' || how === 'check' || how === 'notification-fd+check') return 'ready (checked)';
  return 'ready';
};

/**
 * The STATE column: processes running without a supervisor are
 * `unsupervised`, whatever was last recorded; a supervisor whose
 * supervise/ cannot be read is `unreachable`.
 */
export const stateWord = (s: ShownStatus): string =>
  s.heldBy !== undefined ? 'unreachable' : s.reaper !== undefined ? 'reaping' : s.leftovers ? 'unsupervised' : s.state;

/** An instance's status names its template (`--json` too); `usage` from its cgroups. */
export type StatusRow = ShownStatus & { template?: string; usage?: ShownUsage };

/** A template's line in the table; its instances follow it, indented. */
export interface TemplateLine {
  template: string;
  instances: number;
}

/**
 * One row per service: NAME STATE PID UPTIME RESTARTS LAST-EXIT READY MEM CPU; a
 * template as `worker@  template, 3 instances`, its instances' names
 * indented under it.
 */
export const statusTable = (
  items: readonly (StatusRow | TemplateLine)[],
  now = Date.now(),
  paint: (state: string) => string = (w) => w,
): string[] => {
  const head = ['NAME', 'STATE', 'PID', 'UPTIME', 'RESTARTS', 'LAST EXIT', 'READY', 'MEM', 'CPU'];
  const rows = items.filter((x): x is StatusRow => !('instances' in x));
  const body = rows.map((s) => [
    s.template ? `  ${s.name}` : s.name,
    stateWord(s),
    s.pid === null ? (s.leftovers ? String(s.leftovers.pgid) : '-') : String(s.pid),
    s.pid !== null && s.startedAt ? duration(now - Date.parse(s.startedAt)) : '-',
    String(s.restarts),
    s.lastExit === null ? '-' : exitText(s.lastExit),
    readiness(s),
    memoryText(s.usage?.memoryBytes),
    cpuText(s.usage?.cpuSeconds),
  ]);
  const templates = items.filter((x): x is TemplateLine => 'instances' in x);
  const widths = head.map((h, i) =>
    Math.max(h.length, ...body.map((r) => r[i]!.length), ...(i === 0 ? templates.map((t) => t.template.length) : [])),
  );
  // the STATE cell is painted after padding by its plain width: colours take no columns
  const cell = (c: string, i: number, last: boolean, painted: boolean) =>
    (painted && i === 1 ? paint(c) : c) + (last ? '' : ' '.repeat(widths[i]! - c.length));
  const line = (r: string[], painted: boolean) => r.map((c, i) => cell(c, i, i === r.length - 1, painted)).join('  ');
  let next = 0;
  return [
    line(head, false),
    ...items.map((x) =>
      'instances' in x
        ? `${x.template.padEnd(widths[0]!)}  template, ${x.instances} instance${x.instances === 1 ? '' : 's'}`
        : line(body[next++]!, true),
    ),
  ];
};

/**
 * status [NAME...]: every service, or the named ones (a template names its
 * instances). In the table, instances are grouped under a line for their
 * template; --json is a flat array, instances with `template`.
 */
export const cmdStatus = (ctx: Ctx, names: readonly string[]): number => {
  const scan = loadEntries(ctx);
  const templates = templatesOf(scan);
  const instancesOf = (t: string) => scan.entries.filter((e) => templateOf(e.name, templates) === t);
  const shown = new Map<string, ScanEntry>();
  if (names.length === 0) for (const e of scan.entries) shown.set(e.name, e);
  const named = collectErrors(names, (name) => scan.entries.find((x) => x.template && x.name === name) ?? lookup(scan, name));
  for (const e of named) for (const x of [e, ...(e.template ? instancesOf(e.name) : [])]) shown.set(x.name, x);
  const rows = new Map<string, StatusRow>();
  for (const e of shown.values()) {
    if (e.template) continue;
    const t = templateOf(e.name, templates);
    const s = entryStatus(e, scan);
    const usage = usageOf(s, e.dir);
    rows.set(e.name, t ? { ...s, template: t, usage } : { ...s, usage });
  }
  if (ctx.json) {
    ctx.out(JSON.stringify([...rows.values()], null, 2));
    return EXIT_OK;
  }
  // each template's line where the first of its group would be, its shown instances after it
  const items: (StatusRow | TemplateLine)[] = [];
  const placed = new Set<string>();
  for (const e of shown.values()) {
    const t = e.template ? e.name : templateOf(e.name, templates);
    if (t === null) items.push(rows.get(e.name)!);
    else if (!placed.has(t)) {
      placed.add(t);
      items.push({ template: t, instances: instancesOf(t).length });
      for (const r of rows.values()) if (r.template === t) items.push(r);
    }
  }
  const c = colors(ctx.stdoutColor);
  for (const line of statusTable(items, Date.now(), (word) => paintState(c, word))) ctx.out(line);
  return EXIT_OK;
};
