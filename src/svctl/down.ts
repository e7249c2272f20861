// Bringing services down in reverse dependency order: a service is stopped
// only once every service that requires it is down. Stopping means `x`
// through the control FIFO (stop the service, then exit the supervisor) and
// waiting until the supervisor is gone. Leftovers of a killed supervisor are
// stopped by a short-lived `svrun --want down`, which cleans up before it
// starts anything.
import { sendControl } from '../control.js';
import { type Graph, reverse, startOrder, subgraph } from '../graph.js';
import type { Scan } from '../scan.js';
import type { ServiceDef } from '../servicedir.js';
import { type Launched, launchSvrun } from './launch.js';
import { hasLeftovers, observe } from './observe.js';
import { Changes } from './watch.js';

/** SPEC.md: a stop may take timeout-kill, then timeout-finish, plus a second of slack. */
export const stopTimeoutMs = (def: ServiceDef): number => def.timeoutKillMs + def.timeoutFinishMs + 1000;

/** Drives one service down (supervisor exited); resolves with null or why it is not down by the deadline. */
export const driveDown = async (def: ServiceDef, deadline: number | null): Promise<string | null> => {
  const t0 = Date.now();
  const until = deadline ?? t0 + stopTimeoutMs(def);
  const o0 = observe(def.name, def.dir);
  if (!o0.supervised && !hasLeftovers(o0.recorded)) return null;
  const changes = new Changes([o0.paths.supervise]);
  let launched: Launched | null = null;
  let sent = false;
  try {
    for (;;) {
      const o = observe(def.name, def.dir);
      if (o.supervised) {
        // until the FIFO has a reader (a supervisor still starting), try again at the next wake
        if (!sent) sent = sendControl(o.paths.control, 'x') === 'sent';
      } else if (!launched && hasLeftovers(o.recorded)) {
        launched = launchSvrun(def.dir, 'down', () => changes.poke());
      } else if (!launched || launched.exit) {
        return null;
      }
      if (Date.now() >= until) {
        const what = o.supervised ? `still ${o.recorded?.state ?? 'supervised'}` : 'leftover processes still running';
        const pid = o.recorded?.supervisor?.pid;
        return `${what} after ${until - t0} ms${o.supervised && pid ? ` (supervisor pid ${pid})` : ''}`;
      }
      await changes.next(until);
    }
  } finally {
    changes.close();
    launched?.release();
  }
};

type Outcome = { ok: true } | { ok: false };

/**
 * Stops `names` (which must include everything that requires them), each
 * after all its dependents among them are down. Resolves with one line per
 * service not down, in stop order; empty on success.
 */
export const bringDown = async (scan: Scan, names: Iterable<string>, deadline: number | null): Promise<string[]> => {
  const g: Graph = subgraph(scan.graph, names);
  const rev = reverse(g);
  const order = startOrder(g).reverse();
  const outcomes = new Map<string, Promise<Outcome>>();
  const lines = new Map<string, string>();
  for (const name of order) {
    const def = scan.services.get(name)!;
    const dependents = rev.get(name) ?? [];
    outcomes.set(
      name,
      Promise.all(dependents.map((d) => outcomes.get(d)!)).then(async (deps): Promise<Outcome> => {
        const blockers = dependents.filter((_, i) => !deps[i]!.ok);
        if (blockers.length > 0) {
          if (!observe(name, def.dir).supervised) return { ok: true };
          lines.set(name, `${name}: not stopped because ${blockers.join(', ')} ${blockers.length > 1 ? 'are' : 'is'} not down`);
          return { ok: false };
        }
        const problem = await driveDown(def, deadline);
        if (problem === null) return { ok: true };
        lines.set(name, `${name}: ${problem}`);
        return { ok: false };
      }),
    );
  }
  await Promise.all(outcomes.values());
  return order.flatMap((n) => lines.get(n) ?? []);
};
