// Principle 2: after a SIGKILL of the supervisor, the next one stops what the
// old run left behind before it starts anything, so a service never runs twice.
// The old status.json names the process group (pid + start time, so a reused
// pid is never hit) and the cgroup.
import { GROUP_POLL_MS } from './defaults.js';
import { cgroupKill, cgroupPopulated } from './cgroup.js';
import { procStat } from './proc.js';
import { groupAlive, killGroup, signalGroup } from './procgroup.js';
import type { Status } from './statusfile.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The old run's process group id, unless its number now belongs to another process. */
const oldGroup = (old: Status): number | null => {
  if (old.pid === null || old.pid <= 1) return null;
  const st = procStat(old.pid);
  // a live process with that pid but another start time: the number was reused,
  // which the kernel allows only once the old group had no member left
  if (st && old.pidStart !== null && st.start !== old.pidStart) return null;
  return old.pid;
};

export interface LeftoverOptions {
  downSignal: NodeJS.Signals;
  timeoutKillMs: number;
  log: (text: string) => void;
  /** A second SIGINT: kill now, do not wait for timeout-kill. */
  urgent?: () => boolean;
}

/** Stops the previous run's processes, if any are left; resolves once they are gone. */
export const stopLeftovers = async (old: Status, o: LeftoverOptions): Promise<void> => {
  const pgid = oldGroup(old);
  const cgroup = old.cgroup && cgroupPopulated(old.cgroup) ? old.cgroup : null;
  const c = { cgroup, setpriv: null };
  const alive = () => (pgid !== null && groupAlive({ cgroup: null, setpriv: null }, pgid, true)) || (cgroup !== null && cgroupPopulated(cgroup));
  if (!alive()) return;
  const t0 = Date.now();
  o.log(`stopping: ${o.downSignal}`);
  signalGroup(c, pgid, o.downSignal);
  signalGroup(c, pgid, 'SIGCONT');
  let killed = false;
  while (alive()) {
    if (!killed && ((o.timeoutKillMs > 0 && Date.now() - t0 >= o.timeoutKillMs) || o.urgent?.())) {
      o.log(`killed after ${Date.now() - t0} ms`);
      if (pgid !== null) killGroup(c, pgid);
      else if (cgroup) cgroupKill(cgroup);
      killed = true;
    }
    await sleep(GROUP_POLL_MS);
  }
};
