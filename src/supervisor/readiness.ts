// When a starting service is ready (docs/services.md, "Readiness"): a line on its
// notification fd (s6's protocol), a `check` that exits 0 (run every 100 ms),
// or, with neither, as soon as `run` itself runs. Each watcher calls
// `ready()` once at most, and gives up as soon as the run is no longer the
// one starting (`current()` false). The same channels serve once the service
// is up: further lines on the fd are heartbeats (watchdog), and runCheck()
// runs one health check.
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { CHECK_INTERVAL_MS, EXEC_LOOK_MS, EXEC_WAIT_MS } from '../defaults.js';
import { errorText } from '../errors.js';
import { type Containment, killGroup, pastWrappers } from '../os/procgroup.js';
import type { ServiceDef } from '../servicedir.js';

/** How many looks for run's exec before calling it spawned anyway. */
const EXEC_WAIT_TRIES = EXEC_WAIT_MS / EXEC_LOOK_MS;
/** A probe (check) is killed by its own process group alone. */
const UNGROUPED: Containment = { cgroup: null, setpriv: null };

export interface Watch {
  /** Still the run that is starting: keep watching. */
  current(): boolean;
  ready(): void;
}

/**
 * A longrun with neither notification-fd nor check is ready as soon as it is
 * spawned (docs/services.md), which awaitExec tells: when run itself runs.
 */
export const readyOnSpawn = (def: Pick<ServiceDef, 'type' | 'notificationFd' | 'check'>): boolean =>
  def.type === 'longrun' && def.notificationFd === null && def.check === null;

/**
 * s6's protocol: ready once a line arrives on the notification pipe (closing
 * it without one is not ready). Every line after that, while the run is not
 * starting, is a heartbeat: one call of `heartbeat` per read that brought at
 * least one line, so a chatty service costs one event per read, and nothing is kept.
 */
export const watchNotification = (pipe: Readable, w: Watch, heartbeat: () => void = () => {}): void => {
  pipe.on('data', (chunk: Buffer) => {
    let lines = 0;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines += 1;
    if (lines === 0) return;
    if (w.current()) {
      w.ready();
      lines -= 1;
    }
    if (lines > 0) heartbeat();
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
    setTimeout(look, EXEC_LOOK_MS);
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

/** How one run of `check` ended: `detail` says how it failed (`exited 1`, `timed out after 200 ms`). */
export interface CheckResult {
  ok: boolean;
  detail: string;
}

/** A running check: cancel() kills its group at once (its result is then never reported). */
export interface RunningCheck {
  cancel(): void;
}

/**
 * Runs `check` once, bounded by `timeoutMs`: past it, the check's whole
 * process group is killed and the run counts as failed. The group is killed
 * after every run too, so nothing a check started outlives it. Its output is
 * discarded. A check that cannot be started fails (the error is in `detail`).
 * `done` is called once, never before runCheck() returns, and never after cancel().
 */
export const runCheck = (spawnCheck: () => ChildProcess, timeoutMs: number, done: (r: CheckResult) => void): RunningCheck => {
  let probe: ChildProcess;
  try {
    probe = spawnCheck();
  } catch (err) {
    // reported later, like any other result: done() never runs before runCheck() returns
    const later = setImmediate(() => done({ ok: false, detail: `could not start: ${errorText(err)}` }));
    return { cancel: () => clearImmediate(later) };
  }
  const pid = probe.pid;
  let timedOut = false;
  let cancelled = false;
  const bound =
    pid === undefined
      ? null
      : setTimeout(() => {
          timedOut = true;
          killGroup(UNGROUPED, pid);
        }, timeoutMs);
  let spawnError: string | null = null;
  probe.on('error', (err) => (spawnError ??= errorText(err)));
  probe.once('close', (code, signal) => {
    if (bound) clearTimeout(bound);
    if (pid !== undefined) killGroup(UNGROUPED, pid);
    if (cancelled) return;
    if (code === 0 && !timedOut) return done({ ok: true, detail: 'exited 0' });
    const detail = timedOut
      ? `timed out after ${timeoutMs} ms`
      : spawnError !== null
        ? `could not start: ${spawnError}`
        : signal
          ? `killed by ${signal}`
          : `exited ${code}`;
    done({ ok: false, detail });
  });
  return {
    cancel: () => {
      cancelled = true;
      if (bound) clearTimeout(bound);
      if (pid !== undefined) killGroup(UNGROUPED, pid);
    },
  };
};

/**
 * `check` every 100 ms while starting, each run bounded by the time left of
 * timeout-ready (past it, by timeout-ready again: a late service still
 * becomes up, honestly late). Its output is discarded.
 */
export const pollCheck = (o: CheckOptions, w: Watch): void => {
  const again = () => setTimeout(attempt, CHECK_INTERVAL_MS);
  const spawnReporting = () => {
    try {
      return o.spawnCheck();
    } catch (err) {
      o.onError(`check: ${errorText(err)}`);
      throw err;
    }
  };
  const attempt = () => {
    if (!w.current()) return;
    const left = o.startedAt + o.timeoutReadyMs - Date.now();
    runCheck(spawnReporting, left > 0 ? left : o.timeoutReadyMs, (r) => (r.ok && w.current() ? w.ready() : void again()));
  };
  attempt();
};
