// svrun stops what a killed predecessor left running before it starts
// anything (Principle 2): only processes src/supervise/leftovers.ts proves
// to be the old run's are signalled.
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_TIMEOUT_KILL_MS, GROUP_POLL_MS, LEFTOVERS_KILL_WAIT_MS } from '../defaults.js';
import { eventText } from '../log/format.js';
import { cgroupKill, cgroupPids } from '../os/cgroup.js';
import { groupExists, groupMembers, procStat } from '../os/proc.js';
import { trySignal } from '../os/procgroup.js';
import { populatedCgroup, type Service, strayMembers, unprovenHint, verifiedGroup } from '../supervise/leftovers.js';
import type { Status } from '../supervise/status.js';

export interface LeftoverOptions {
  service: Service;
  downSignal: NodeJS.Signals;
  timeoutKillMs: number;
  /** One of svrun's events (eventText), for its log. */
  log: (text: string) => void;
  /** A second SIGINT: kill now, do not wait for timeout-kill. */
  urgent?: () => boolean;
  /** A stop was requested (SIGTERM...): with timeout-kill 0 the wait then ends, the leftovers left as they are. */
  stopRequested?: () => boolean;
}

/**
 * Stops the previous run's processes, if any are provably left: down-signal
 * and SIGCONT, SIGKILL after timeout-kill. Every wait ends: LEFTOVERS_KILL_WAIT_MS
 * after the SIGKILL it goes on (what survives SIGKILL that long is stuck in the
 * kernel and never runs user code again), and with timeout-kill 0 ("never
 * SIGKILL") it waits only until a stop is requested. Resolves with whether
 * everything is gone.
 */
export const stopLeftovers = async (old: Status | null, o: LeftoverOptions): Promise<boolean> => {
  const pgid = verifiedGroup(old, o.service);
  // once verified, the group stays the old run's while it has members: a number is not reused before
  const reused = () => pgid !== null && procStat(pgid) !== null && procStat(pgid)?.start !== old?.pidStart;
  const groupLeft = () => pgid !== null && !reused() && groupExists(pgid) && groupMembers(pgid).length > 0;
  const strays = () => (pgid === null ? strayMembers(old, o.service) : []);
  const cgroup = () => populatedCgroup(o.service, old);
  const alive = () => groupLeft() || strays().length > 0 || cgroup() !== null;
  const signal = (sig: NodeJS.Signals) => {
    if (groupLeft()) trySignal(-pgid!, sig);
    for (const pid of strays()) trySignal(pid, sig);
    const cg = cgroup();
    if (cg) for (const pid of cgroupPids(cg)) if (procStat(pid)?.pgid !== pgid) trySignal(pid, sig);
  };
  if (!alive()) {
    const hint = unprovenHint(old, o.service);
    if (hint) o.log(eventText({ kind: 'error', text: hint }));
    return true;
  }
  const t0 = Date.now();
  o.log(eventText({ kind: 'stopping', signal: o.downSignal }));
  signal(o.downSignal);
  signal('SIGCONT');
  let killedAt: number | null = null;
  let warned = false;
  while (alive()) {
    const now = Date.now();
    if (killedAt === null && ((o.timeoutKillMs > 0 && now - t0 >= o.timeoutKillMs) || o.urgent?.())) {
      o.log(eventText({ kind: 'killed-after', ms: now - t0 }));
      signal('SIGKILL');
      const cg = cgroup();
      if (cg) cgroupKill(cg);
      killedAt = now;
    } else if (killedAt !== null && now - killedAt >= LEFTOVERS_KILL_WAIT_MS) {
      o.log(
        eventText({ kind: 'error', text: `leftovers: still there ${now - killedAt} ms after SIGKILL (stuck in the kernel): going on` }),
      );
      return false;
    } else if (killedAt === null && o.timeoutKillMs === 0) {
      if (o.stopRequested?.()) {
        o.log(eventText({ kind: 'error', text: 'leftovers: still running (timeout-kill 0: never killed); left as they are' }));
        return false;
      }
      if (!warned && now - t0 >= DEFAULT_TIMEOUT_KILL_MS) {
        o.log(
          eventText({
            kind: 'error',
            text: `leftovers: still running ${now - t0} ms after ${o.downSignal} (timeout-kill 0: never killed); waiting`,
          }),
        );
        warned = true;
      }
    } else if (killedAt !== null) {
      signal('SIGKILL'); // members forked since, found one by one (strays, cgroup)
    }
    await sleep(GROUP_POLL_MS);
  }
  return true;
};
