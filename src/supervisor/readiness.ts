// When a starting service is ready (SPEC.md "readiness"): a line on its
// notification fd (s6's protocol), a `check` that exits 0 (run every 100 ms),
// or, with neither, as soon as `run` itself runs. Each watcher calls
// `ready()` once at most, and gives up as soon as the run is no longer the
// one starting (`current()` false).
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { errorText } from '../errors.js';
import { type Containment, killGroup, pastWrappers } from '../os/procgroup.js';
import type { ServiceDef } from '../servicedir.js';

/** SPEC.md: `check` runs every 100 ms until it exits 0. */
const CHECK_INTERVAL_MS = 100;
/** How many 1 ms looks for run's exec before calling it spawned anyway. */
const EXEC_WAIT_TRIES = 200;
/** A probe (check) is killed by its own process group alone. */
const UNGROUPED: Containment = { cgroup: null, setpriv: null };

export interface Watch {
  /** Still the run that is starting: keep watching. */
  current(): boolean;
  ready(): void;
}

/**
 * A longrun with neither notification-fd nor check is ready as soon as it is
 * spawned (SPEC.md), which awaitExec tells: when run itself runs.
 */
export const readyOnSpawn = (def: Pick<ServiceDef, 'type' | 'notificationFd' | 'check'>): boolean =>
  def.type === 'longrun' && def.notificationFd === null && def.check === null;

/** s6's protocol: ready once a line arrives on the notification pipe (closing it without one is not ready). */
export const watchNotification = (pipe: Readable, w: Watch): void => {
  let seen = '';
  pipe.on('data', (chunk: Buffer) => {
    if (seen.includes('\n')) return;
    seen += chunk.toString('latin1');
    if (seen.includes('\n') && w.current()) w.ready();
  });
  pipe.on('error', () => {});
};

/**
 * "Spawned" means run itself runs: not svrun's sh and setpriv wrappers on
 * the way to it (a few ms), so that `svctl up` returning means run was exec'd.
 */
export const awaitExec = (c: Containment, pid: number, w: Watch): void => {
  let tries = 0;
  const look = () => {
    if (!w.current()) return;
    if (pastWrappers(c, pid) || ++tries > EXEC_WAIT_TRIES) return w.ready();
    setTimeout(look, 1);
  };
  look();
};

export interface CheckOptions {
  /** Starts one run of `check` (contained like the service). */
  spawnCheck(): ChildProcess;
  startedAt: number;
  timeoutReadyMs: number;
  onError(text: string): void;
}

/**
 * `check` every 100 ms while starting, each run bounded by the time left of
 * timeout-ready (past it, by timeout-ready again: a late service still
 * becomes up, honestly late). Its output is discarded.
 */
export const pollCheck = (o: CheckOptions, w: Watch): void => {
  const again = () => setTimeout(attempt, CHECK_INTERVAL_MS);
  const attempt = () => {
    if (!w.current()) return;
    const left = o.startedAt + o.timeoutReadyMs - Date.now();
    let probe: ChildProcess;
    try {
      probe = o.spawnCheck();
    } catch (err) {
      o.onError(`check: ${errorText(err)}`);
      return void again();
    }
    const pid = probe.pid;
    const bound = pid === undefined ? null : setTimeout(() => killGroup(UNGROUPED, pid), left > 0 ? left : o.timeoutReadyMs);
    probe.on('error', () => {});
    probe.once('close', (code) => {
      if (bound) clearTimeout(bound);
      if (pid !== undefined) killGroup(UNGROUPED, pid);
      if (code === 0 && w.current()) w.ready();
      else again();
    });
  };
  attempt();
};
