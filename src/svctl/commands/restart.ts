// svctl restart NAME... [--no-deps] [--rolling]: down then up of the named
// services and of the running services that require them (systemd's way);
// with --no-deps, of the named services only: a dependent is never stopped,
// and meets its requirement gone for the moment of the restart, as after a
// crash of it. With --rolling, the named services one at a time, each once
// the previous one is ready again (engine/rolling.ts). A service whose
// supervisor holds sockets (`listen`) is restarted under that supervisor,
// which reads its folder first: its sockets stay open throughout.
import { EXIT_OK, EXIT_USAGE } from '../../defaults.js';
import { SvError } from '../../errors.js';
import { closure, dependents, type Graph } from '../../graph.js';
import type { Scan } from '../../scan.js';
import { type Ctx, globalDeadline, loadScan } from '../context.js';
import { bringDown } from '../engine/bringdown.js';
import { bringUp, type UpWant } from '../engine/bringup.js';
import { createPlanned, expandPools, prepareWithInstances } from '../engine/instances.js';
import { isRunning, observe } from '../engine/observe.js';
import { reloadHeld } from '../engine/reload.js';
import { keptSupervisors, restartRolling } from '../engine/rolling.js';
import { readStopPlan } from '../engine/stopplan.js';
import { withScanLock } from './changing.js';
import { onlyTouched } from '../output/progress.js';

export interface RestartOptions {
  /** false (--no-deps): only the named services; what requires them keeps running. */
  deps: boolean;
  /** --rolling: the named services one at a time, each once the previous one is ready again; what requires them is left alone. */
  rolling?: boolean;
  /** --host: the supervisors started live in one svrun (not with --rolling: one service at a time). */
  host?: boolean;
}

export const cmdRestart = async (ctx: Ctx, named: readonly string[], o: RestartOptions = { deps: true }): Promise<number> => {
  if (named.length === 0) throw new SvError('svkit.usage', EXIT_USAGE, 'restart: name at least one service');
  const scan0 = loadScan(ctx, true);
  // worker@* is every instance there is: none, nothing to restart
  const names = expandPools(scan0, named);
  if (names.length === 0) return EXIT_OK;
  const deps = o.deps && !o.rolling;
  // what will come back: the named services and (unless --no-deps) the running ones that require them
  const comingBack = (scan: Scan, wanted: string[], g: Graph = scan.graph) =>
    !deps
      ? wanted
      : [...dependents(g, wanted)].filter((n) => {
          const def = scan.services.get(n);
          return def !== undefined && (wanted.includes(n) || isRunning(observe(n, def.dir), def.type));
        });
  const p = prepareWithInstances(scan0, names, comingBack);
  return withScanLock(ctx, p.scan, async () => {
    const made = createPlanned(p.scan, closure(p.scan.graph, p.names));
    if (!made.ok) return made.problems;
    const { scan } = made;
    const deadline = globalDeadline(ctx);
    if (o.rolling) return restartRolling(scan, p.names, deadline, ctx.progress.emit);
    // the stop half follows what runs (the requires each supervisor started with, too)
    const plan = readStopPlan(scan);
    // decided under the lock: what runs now is what comes back
    const again = comingBack(scan, p.names, plan.graph);
    const keep = keptSupervisors(scan, again);
    const stopped = await bringDown(plan, deps ? dependents(plan.graph, p.names) : p.names, deadline, ctx.progress.emit, keep);
    if (stopped.length > 0) return stopped;
    const targets = new Map<string, UpWant>();
    for (const n of closure(scan.graph, again)) targets.set(n, 'up');
    // what they require is shown only if it had to be started: `restart web` says nothing of a db left running
    const progress = onlyTouched(ctx.progress.emit, (n) => !again.includes(n));
    return bringUp(scan, targets, deadline, { host: o.host ?? false }, progress, async (def) =>
      keep.has(def.name) ? reloadHeld(def, deadline) : null,
    );
  });
};
