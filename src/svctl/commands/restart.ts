// svctl restart NAME... [--no-deps]: down then up of the named services and
// of the running services that require them (systemd's way); with
// --no-deps, of the named services only: a dependent is never stopped, and
// meets its requirement gone for the moment of the restart, as after a crash of it.
import { EXIT_USAGE } from '../../defaults.js';
import { SvError } from '../../errors.js';
import { closure, dependents, type Graph } from '../../graph.js';
import type { Scan } from '../../scan.js';
import { type Ctx, globalDeadline, loadScan } from '../context.js';
import { bringDown } from '../engine/bringdown.js';
import { bringUp, type UpWant } from '../engine/bringup.js';
import { createPlanned, prepareWithInstances } from '../engine/instances.js';
import { isRunning, observe } from '../engine/observe.js';
import { readStopPlan } from '../engine/stopplan.js';
import { withScanLock } from './changing.js';

export interface RestartOptions {
  /** false (--no-deps): only the named services; what requires them keeps running. */
  deps: boolean;
  /** --host: the supervisors started live in one svrun. */
  host?: boolean;
}

export const cmdRestart = async (ctx: Ctx, names: readonly string[], o: RestartOptions = { deps: true }): Promise<number> => {
  if (names.length === 0) throw new SvError('svkit.usage', EXIT_USAGE, 'restart: name at least one service');
  // what will come back: the named services and (unless --no-deps) the running ones that require them
  const comingBack = (scan: Scan, named: string[], g: Graph = scan.graph) =>
    !o.deps
      ? named
      : [...dependents(g, named)].filter((n) => {
          const def = scan.services.get(n);
          return def !== undefined && (named.includes(n) || isRunning(observe(n, def.dir), def.type));
        });
  const p = prepareWithInstances(loadScan(ctx, true), names, comingBack);
  return withScanLock(ctx, p.scan, async () => {
    const made = createPlanned(p.scan, closure(p.scan.graph, p.names));
    if (!made.ok) return made.problems;
    const { scan } = made;
    // the stop half follows what runs (the requires each supervisor started with, too)
    const plan = readStopPlan(scan);
    // decided under the lock: what runs now is what comes back
    const again = comingBack(scan, p.names, plan.graph);
    const deadline = globalDeadline(ctx);
    const stopped = await bringDown(plan, o.deps ? dependents(plan.graph, p.names) : p.names, deadline, ctx.progress.emit);
    if (stopped.length > 0) return stopped;
    const targets = new Map<string, UpWant>();
    for (const n of closure(scan.graph, again)) targets.set(n, 'up');
    return bringUp(scan, targets, deadline, { host: o.host ?? false }, ctx.progress.emit);
  });
};
