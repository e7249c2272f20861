// svctl restart --rolling: the named services one at a time, each only once
// the previous one is up and ready again, so a pool of N instances never has
// fewer than N-1 serving; what requires them is left alone. The first that
// fails ends the roll: the rest keep running as they are.
import { closure } from '../../graph.js';
import type { Scan } from '../../scan.js';
import { noProgress, onlyTouched, type ProgressSink } from '../output/progress.js';
import { bringDown } from './bringdown.js';
import { bringUp, type UpWant } from './bringup.js';
import { observe } from './observe.js';
import { canReload, reloadHeld } from './reload.js';
import { readStopPlan } from './stopplan.js';

/**
 * Of `names`, those restarted under the supervisor they have: it runs, can
 * reload, and holds sockets, which a new supervisor would have to close and
 * bind again (refusing connections meanwhile).
 */
export const keptSupervisors = (scan: Scan, names: Iterable<string>): Set<string> => {
  const kept = new Set<string>();
  for (const name of names) {
    const def = scan.services.get(name);
    const o = def && observe(name, def.dir);
    if (o?.supervised && canReload(o.recorded) && (o.recorded?.settings?.listen?.length ?? 0) > 0) kept.add(name);
  }
  return kept;
};

/** Restarts one service (what it requires brought up if need be, what requires it left alone); its problems. */
export const restartOne = async (scan: Scan, name: string, deadline: number | null, progress: ProgressSink): Promise<string[]> => {
  const keep = keptSupervisors(scan, [name]);
  const stopped = await bringDown(readStopPlan(scan), [name], deadline, progress, keep);
  if (stopped.length > 0) return stopped;
  const targets = new Map<string, UpWant>([...closure(scan.graph, [name])].map((n) => [n, 'up']));
  // what it requires is shown only if it had to be started (as restart does)
  const shown = onlyTouched(progress, (n) => n !== name);
  return bringUp(scan, targets, deadline, {}, shown, async (def) => (keep.has(def.name) ? reloadHeld(def, deadline) : null));
};

/** The rolling restart of `names`, in their order; the problems of the one that failed and of those not restarted because of it. */
export const restartRolling = async (
  scan: Scan,
  names: readonly string[],
  deadline: number | null,
  progress: ProgressSink = noProgress,
): Promise<string[]> => {
  const at = Date.now();
  for (const [i, name] of names.entries()) progress({ kind: 'waiting', name, toward: 'up', on: i === 0 ? [] : [names[i - 1]!], at });
  for (const [i, name] of names.entries()) {
    const problems = await restartOne(scan, name, deadline, progress);
    if (problems.length === 0) continue;
    const rest = names.slice(i + 1);
    for (const n of rest) progress({ kind: 'blocked', name: n, toward: 'up', reason: `${name} failed`, at: Date.now() });
    return [...problems, ...rest.map((n) => `${n}: not restarted because ${name} failed (a rolling restart stops at the first failure)`)];
  }
  return [];
};
