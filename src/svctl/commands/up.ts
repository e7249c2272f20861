// svctl up [NAME...] and svctl once NAME...: read and validate the whole scan
// directory first (exit 2, nothing changed), create missing instances, then,
// under the scan lock, bring the services and what they require up in
// dependency order.
import { closure } from '../../graph.js';
import { settingNearMisses } from '../../settings.js';
import { type Ctx, globalDeadline, loadScan } from '../context.js';
import { bringUp, type UpWant } from '../engine/bringup.js';
import { createPlanned, prepareWithInstances } from '../engine/instances.js';
import { withScanLock } from './changing.js';

/**
 * up [NAME...] and once NAME...: the named services with `want`, what they
 * require with `up`; missing instances among them are created first;
 * `host`: the supervisors started live in one svrun (src/svctl/engine/host.ts).
 */
export const cmdUp = async (ctx: Ctx, names: readonly string[], want: UpWant = 'up', host = false): Promise<number> => {
  const p = prepareWithInstances(loadScan(ctx, true), names);
  // a mistyped setting is silently no setting: one line each, and the services start all the same
  for (const n of closure(p.scan.graph, p.names)) {
    const def = p.scan.services.get(n);
    if (def) for (const w of settingNearMisses(def.dir, n)) ctx.err(`warning: ${w}`);
  }
  return withScanLock(ctx, p.scan, async () => {
    const made = createPlanned(p.scan, closure(p.scan.graph, p.names));
    if (!made.ok) return made.problems;
    const { scan } = made;
    const targets = new Map<string, UpWant>();
    for (const n of closure(scan.graph, p.names)) targets.set(n, 'up');
    for (const n of p.names) targets.set(n, want);
    return bringUp(scan, targets, globalDeadline(ctx), { host }, ctx.progress.emit);
  });
};
