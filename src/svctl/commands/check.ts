// svctl check [NAME...]: exit 0 when every named service (default: every
// service without a down file) is up and ready, else 1 with one line per
// service that is not; fit for a container HEALTHCHECK. Reads only, like status.
import { EXIT_FAILED, EXIT_OK } from '../../defaults.js';
import { printable } from '../../errors.js';
import type { ScanEntries, ScanEntry } from '../../scan.js';
import { type Ctx, defaultEntries, loadEntries, namedEntries } from '../context.js';
import { entryStatus, type ShownStatus } from '../engine/observe.js';

const entriesFor = (ctx: Ctx, names: readonly string[], withDown: boolean): { scan: ScanEntries; entries: ScanEntry[] } => {
  const scan = loadEntries(ctx);
  return { scan, entries: names.length > 0 ? namedEntries(scan, names) : defaultEntries(scan, withDown) };
};

/** Exit 0 when every service is up and ready; else 1 and a line per service that is not. */
export const cmdCheck = (ctx: Ctx, names: readonly string[]): number => {
  const found = entriesFor(ctx, names, false);
  const bad = found.entries.map((e) => entryStatus(e, found.scan)).filter((s) => s.state !== 'up');
  if (ctx.json) {
    ctx.out(
      JSON.stringify(
        bad.map((s) => ({ name: s.name, state: s.state, supervised: s.supervised, leftovers: s.leftovers, lastError: s.lastError })),
      ),
    );
  } else {
    const how = (s: ShownStatus) =>
      s.supervised
        ? s.state
        : s.heldBy !== undefined
          ? `unreachable (supervisor pid ${s.heldBy}; its supervise/ cannot be read)`
          : s.leftovers
            ? `${s.state} (not supervised; process group ${s.leftovers.pgid} still runs)`
            : `${s.state} (not supervised)`;
    // lastError comes from status.json, which anyone who can write the folder can write: one printable line
    for (const s of bad) ctx.out(printable(`${s.name}: ${how(s)}${s.lastError ? `: ${s.lastError}` : ''}`));
  }
  return bad.length > 0 ? EXIT_FAILED : EXIT_OK;
};
