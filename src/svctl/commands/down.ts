// svctl down [NAME...]: the named services (default: all; `worker@*`: every
// instance of worker@) and everything that requires them, valid or not: an
// invalid folder is a warning, and its supervisor is stopped with the
// settings it holds (docs/services.md "Stopping never waits on valid folders").
import { EXIT_OK } from '../../defaults.js';
import { dependents } from '../../graph.js';
import { type Ctx, defaultEntries, globalDeadline, loadScan, namedEntries } from '../context.js';
import { bringDown } from '../engine/bringdown.js';
import { expandPools } from '../engine/instances.js';
import { readStopPlan, stopWarnings } from '../engine/stopplan.js';
import { withScanLock } from './changing.js';

export const cmdDown = async (ctx: Ctx, names: readonly string[]): Promise<number> => {
  const scan = loadScan(ctx, false);
  // worker@* is every instance there is; none: nothing to stop (never "all")
  const expanded = expandPools(scan, names);
  if (names.length > 0 && expanded.length === 0) return EXIT_OK;
  const named = (names.length > 0 ? namedEntries(scan, expanded) : defaultEntries(scan, true)).map((e) => e.name);
  return withScanLock(ctx, scan, async () => {
    // planned under the lock: what runs now, in the order it was started with
    const plan = readStopPlan(scan);
    const all = dependents(plan.graph, named);
    for (const w of stopWarnings(scan, plan, all)) ctx.err(w);
    return bringDown(plan, all, globalDeadline(ctx), ctx.progress.emit);
  });
};
