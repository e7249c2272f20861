// The supervisor as a pure transition function: step(core, event) returns the
// next core and the effects for the interpreter (src/supervisor/supervisor.ts) to carry
// out. No I/O and no clock here: events carry their time. Current state and
// wanted state are kept apart (runit's state/want, s6's flagwantup).
import { nextShortRuns, restartDelay } from '../backoff.js';
import type { SvrunEvent } from '../log/format.js';
import { type Command, type ExitReason, exitText, type LastExit, type RestartPolicy, type State, type Want } from '../vocabulary.js';

export interface Config {
  restart: RestartPolicy;
  downSignal: NodeJS.Signals;
  timeoutKillMs: number;
  hasFinish: boolean;
  /** A oneshot: run once, `up` when it exits 0, never restarted; svrun exits once it is settled. */
  oneshot?: boolean;
  /** The oneshot has a `stop` script to undo `run`. */
  hasStop?: boolean;
  // --- health and watchdog ---
  /** health-interval: ms from the end of one health check to the start of the next while up; null/absent: none. */
  healthIntervalMs?: number | null;
  /** health-retries: failed checks in a row that make the service unhealthy. */
  healthRetries?: number;
  /** watchdog: ms of silence after readiness (or the last heartbeat) before the service is stopped; null/absent: none. */
  watchdogMs?: number | null;
}

/** Health checks while up: failures in a row, and when the last one ended. */
export interface Health {
  ok: boolean;
  failures: number;
  lastCheckAt: number | null;
}

export interface Core {
  want: Want;
  state: State;
  since: number;
  pid: number | null;
  pidStart: number | null;
  startedAt: number | null;
  readyAt: number | null;
  restarts: number;
  lastExit: LastExit | null;
  nextStartAt: number | null;
  lastError: string | null;
  /** Process group of the current or last run: outlives the main process. */
  pgid: number | null;
  /** The main process has not exited yet. `pid` stays on record after it exits
   * until its whole group is gone, so a new supervisor can find leftovers. */
  mainAlive: boolean;
  /** Consecutive short runs, for the backoff. */
  shortRuns: number;
  /** The current run is ending because we asked it to (d, x, a signal to svrun). */
  stopRequested: boolean;
  stopSentAt: number | null;
  /** `finish` exited 125: do not restart (s6's convention). */
  finishVeto: boolean;
  /** Exit the supervisor once the service is down. */
  exiting: boolean;
  // --- health and watchdog ---
  /** null without health-interval; reset each time the service becomes ready. */
  health: Health | null;
  /** The last heartbeat (or readiness) of the current run, for the watchdog. */
  lastBeatAt: number | null;
  /** Why svrun is ending the current run on its own (unhealthy, watchdog); recorded in lastExit.reason. */
  endReason: ExitReason | null;
}

export type Event =
  | { type: 'boot'; at: number }
  | { type: 'command'; cmd: Command; at: number }
  | { type: 'send'; signal: NodeJS.Signals; at: number }
  | { type: 'terminate'; at: number }
  | { type: 'kill-now'; at: number }
  | { type: 'spawned'; pid: number; pidStart: number | null; at: number }
  | { type: 'spawn-failed'; error: string; at: number }
  | { type: 'ready'; at: number }
  | { type: 'exited'; code: number | null; signal: NodeJS.Signals | null; groupEmpty: boolean; at: number; reason?: LastExit['reason'] }
  | { type: 'group-empty'; at: number }
  | { type: 'kill-timeout'; at: number }
  | { type: 'finish-done'; code: number | null; at: number }
  | { type: 'stop-done'; code: number | null; at: number }
  | { type: 'backoff-done'; at: number }
  | { type: 'error'; error: string; at: number }
  // --- health and watchdog ---
  /** The health timer ran out: time for the next check. */
  | { type: 'health-due'; at: number }
  /** A health check ended: `detail` says how it failed (`exited 1`, `timed out after 5000 ms`). */
  | { type: 'health-result'; ok: boolean; detail: string; at: number }
  /** A line on notification-fd after readiness. */
  | { type: 'heartbeat'; at: number }
  | { type: 'watchdog-timeout'; at: number };

export type TimerName = 'kill' | 'backoff' | 'health' | 'watchdog';

/** The event each timer sends when it runs out. */
export const TIMER_EVENTS = {
  kill: 'kill-timeout',
  backoff: 'backoff-done',
  health: 'health-due',
  watchdog: 'watchdog-timeout',
} as const satisfies Record<TimerName, Event['type']>;

export type Effect =
  | { type: 'spawn' }
  | { type: 'signal-group'; signal: NodeJS.Signals }
  | { type: 'kill-group' }
  | { type: 'watch-group' }
  | { type: 'timer'; name: TimerName; ms: number }
  | { type: 'cancel-timer'; name: TimerName }
  | { type: 'run-finish'; code: number; signo: number }
  | { type: 'run-stop' }
  /** Run `check` once as a health check, bounded by health-timeout; report a health-result. */
  | { type: 'run-health-check' }
  /** Kill a health check still running (the service is leaving up). */
  | { type: 'cancel-health-check' }
  | { type: 'log'; event: SvrunEvent }
  | { type: 'exit'; code: number };

/**
 * What the state machine is told when a control letter (src/supervise/control.ts)
 * arrives at `at`: its command, or the signal it relays.
 */
export const letterEvent = (
  letter: { readonly command: Command; readonly signal: null } | { readonly command: null; readonly signal: NodeJS.Signals },
  at: number,
): Event => (letter.signal ? { type: 'send', signal: letter.signal, at } : { type: 'command', cmd: letter.command, at });

export const initialCore = (want: Want, at: number): Core => ({
  want,
  state: 'down',
  since: at,
  pid: null,
  pidStart: null,
  startedAt: null,
  readyAt: null,
  restarts: 0,
  lastExit: null,
  nextStartAt: null,
  lastError: null,
  pgid: null,
  mainAlive: false,
  shortRuns: 0,
  stopRequested: false,
  stopSentAt: null,
  finishVeto: false,
  exiting: false,
  health: null,
  lastBeatAt: null,
  endReason: null,
});

const isRunning = (state: State) => state === 'starting' || state === 'up';

export const step = (prev: Core, event: Event, cfg: Config, signo: (s: NodeJS.Signals) => number): { core: Core; effects: Effect[] } => {
  const s: Core = { ...prev };
  const fx: Effect[] = [];
  const at = event.at;

  const enter = (state: State) => {
    if (s.state !== state) {
      s.state = state;
      s.since = at;
    }
  };
  const log = (event: SvrunEvent) => fx.push({ type: 'log', event });

  const spawn = () => {
    s.nextStartAt = null;
    // the old group is empty by now: never signal its (reusable) id again
    s.pgid = null;
    enter('starting');
    fx.push({ type: 'spawn' });
  };

  const settle = (state: 'down' | 'failed') => {
    enter(state);
    log({ kind: 'settled', state });
    // a oneshot's svrun reports the outcome in its exit code too
    if (s.exiting) fx.push({ type: 'exit', code: cfg.oneshot && state === 'failed' ? 1 : 0 });
  };

  /** A oneshot's run exited 0 (its group is gone): its effect holds, svrun is done. */
  const oneshotUp = () => {
    becomeReady();
    fx.push({ type: 'exit', code: 0 });
  };

  // --- health and watchdog: armed when the run becomes ready, disarmed when it leaves up ---
  const healthOn = (cfg.healthIntervalMs ?? null) !== null;
  const watchdogOn = (cfg.watchdogMs ?? null) !== null;

  const becomeReady = () => {
    s.readyAt = at;
    enter('up');
    log({ kind: 'ready' });
    if (healthOn) {
      s.health = { ok: true, failures: 0, lastCheckAt: null };
      fx.push({ type: 'timer', name: 'health', ms: cfg.healthIntervalMs! });
    }
    if (watchdogOn) {
      s.lastBeatAt = at;
      fx.push({ type: 'timer', name: 'watchdog', ms: cfg.watchdogMs! });
    }
  };

  const disarmMonitors = () => {
    if (healthOn) fx.push({ type: 'cancel-timer', name: 'health' }, { type: 'cancel-health-check' });
    if (watchdogOn) fx.push({ type: 'cancel-timer', name: 'watchdog' });
  };

  /** svrun itself ends the run (unhealthy, watchdog): stopped like a `d`, then the restart policy decides as after a failure. */
  const endRun = (reason: ExitReason, why: SvrunEvent) => {
    log(why);
    s.endReason = reason;
    sendDownSignal();
  };

  const onHealthResult = (ok: boolean, detail: string) => {
    const h = s.health ?? { ok: true, failures: 0, lastCheckAt: null };
    const retries = cfg.healthRetries ?? 1;
    if (ok) {
      if (h.failures > 0) log({ kind: 'health-recovered', failures: h.failures });
      s.health = { ok: true, failures: 0, lastCheckAt: at };
    } else {
      const failures = h.failures + 1;
      s.health = { ok: failures < retries, failures, lastCheckAt: at };
      // healthy -> failing -> unhealthy: the first failure says how it failed, the last what svrun does about it
      if (failures === 1) log({ kind: 'health-failing', detail });
      if (failures >= retries) return endRun('unhealthy', { kind: 'unhealthy', failures });
    }
    fx.push({ type: 'timer', name: 'health', ms: cfg.healthIntervalMs! });
  };

  const sendDownSignal = () => {
    if (s.state === 'up') disarmMonitors();
    enter('stopping');
    if (s.stopSentAt !== null) return;
    s.stopSentAt = at;
    log({ kind: 'stopping', signal: cfg.downSignal });
    fx.push({ type: 'signal-group', signal: cfg.downSignal }, { type: 'signal-group', signal: 'SIGCONT' });
    if (cfg.timeoutKillMs > 0) fx.push({ type: 'timer', name: 'kill', ms: cfg.timeoutKillMs });
    fx.push({ type: 'watch-group' });
  };

  /** Takes the service toward down, whatever it is doing now. */
  const stop = () => {
    switch (s.state) {
      case 'starting':
      case 'up':
        s.stopRequested = true;
        sendDownSignal();
        return;
      case 'stopping':
      case 'finishing':
        s.stopRequested = true;
        return;
      case 'backoff':
        fx.push({ type: 'cancel-timer', name: 'backoff' });
        s.nextStartAt = null;
        settle('down');
        return;
      case 'down':
      case 'failed':
        if (s.state === 'failed') settle('down');
        else if (s.exiting) fx.push({ type: 'exit', code: 0 });
        return;
      default:
        return assertNever(s.state);
    }
  };

  /** The run and its whole group are gone (and finish is done): what next? */
  const decide = () => {
    const exit = s.lastExit;
    // a run svrun ended (unhealthy, watchdog) failed, whatever its exit code
    const clean = exit !== null && exit.code === 0 && !exit.reason;
    if (s.want === 'down') return settle('down');
    if (cfg.oneshot) {
      if (clean) return oneshotUp();
      s.lastError = `run ${exitText(exit)}`;
      return settle('failed');
    }
    if (s.stopRequested) {
      // stopped on request, then wanted up again (d then u): a fresh start
      s.shortRuns = 0;
      return spawn();
    }
    if (s.finishVeto) return settle('failed');
    const restart = s.want === 'up' && (cfg.restart === 'always' || (cfg.restart === 'on-failure' && !clean));
    if (!restart) return settle(clean ? 'down' : 'failed');
    scheduleRestart();
  };

  const scheduleRestart = () => {
    const delay = restartDelay(s.shortRuns);
    s.shortRuns += 1;
    s.restarts += 1;
    log({ kind: 'restarting', ms: delay });
    if (delay === 0) return spawn();
    enter('backoff');
    s.nextStartAt = at + delay;
    fx.push({ type: 'timer', name: 'backoff', ms: delay });
  };

  const afterGroupEmpty = () => {
    s.pid = null;
    s.pidStart = null;
    fx.push({ type: 'cancel-timer', name: 'kill' });
    const exit = s.lastExit;
    if (cfg.hasFinish && exit && !cfg.oneshot) {
      enter('finishing');
      const sig = exit.signal ? signo(exit.signal as NodeJS.Signals) : 0;
      fx.push({ type: 'run-finish', code: exit.signal ? -1 : (exit.code ?? -1), signo: sig });
      return;
    }
    decide();
  };

  switch (event.type) {
    case 'boot':
      if (cfg.oneshot) {
        // svrun for a oneshot is a transaction: bring it up (unless its effect
        // still holds), or take it down with `stop`, then exit
        if (s.want !== 'down') {
          if (s.state === 'up') fx.push({ type: 'exit', code: 0 });
          else spawn();
        } else if (s.state === 'up' && cfg.hasStop) {
          enter('stopping');
          fx.push({ type: 'run-stop' });
        } else settle('down');
        break;
      }
      if (s.want !== 'down') spawn();
      break;
    case 'command':
      switch (event.cmd) {
        case 'u':
        case 'o':
          if (s.exiting) break; // x or a stop signal to svrun is final
          s.want = event.cmd === 'u' ? 'up' : 'once';
          if (s.state === 'down' || s.state === 'failed') {
            s.shortRuns = 0;
            s.finishVeto = false;
            spawn();
          }
          break;
        case 'x':
          s.exiting = true;
          s.want = 'down';
          stop();
          break;
        case 'd':
          s.want = 'down';
          stop();
          break;
        default:
          assertNever(event.cmd);
      }
      break;
    case 'terminate':
      s.exiting = true;
      s.want = 'down';
      stop();
      break;
    case 'send':
      if (s.pgid !== null && (isRunning(s.state) || s.state === 'stopping')) {
        fx.push({ type: 'signal-group', signal: event.signal });
      }
      break;
    case 'kill-now':
      if (s.state === 'stopping') {
        log({ kind: 'killed-after', ms: at - (s.stopSentAt ?? at) });
        fx.push({ type: 'cancel-timer', name: 'kill' }, { type: 'kill-group' });
      }
      break;
    case 'spawned':
      s.pid = event.pid;
      s.pgid = event.pid;
      s.mainAlive = true;
      s.pidStart = event.pidStart;
      s.startedAt = at;
      s.readyAt = null;
      s.lastError = null;
      s.stopRequested = false;
      s.stopSentAt = null;
      s.finishVeto = false;
      s.endReason = null;
      s.lastBeatAt = null;
      enter('starting');
      log({ kind: 'started', pid: event.pid });
      // ready comes as an event of its own, also for a service that is ready on spawn (src/supervisor/readiness.ts)
      if (s.want === 'down') stop();
      break;
    case 'spawn-failed':
      s.lastError = event.error;
      log({ kind: 'error', text: event.error });
      if (s.want === 'down') {
        settle('down');
        break;
      }
      if (cfg.oneshot) {
        settle('failed');
        break;
      }
      s.shortRuns = Math.max(s.shortRuns, 1);
      scheduleRestart();
      break;
    case 'ready':
      if (s.state === 'starting') becomeReady();
      break;
    case 'exited': {
      if (s.state === 'up') disarmMonitors();
      // the kernel's OOM kill is the cause, whatever svrun was doing about the service
      s.lastExit = { code: event.code, signal: event.signal, at: new Date(at).toISOString(), reason: event.reason ?? s.endReason };
      log({ kind: 'exited', code: event.code, signal: event.signal, ...(event.reason === 'oom' && { outOfMemory: true as const }) });
      s.shortRuns = nextShortRuns(s.shortRuns, s.startedAt === null ? null : at - s.startedAt);
      s.mainAlive = false;
      if (!event.groupEmpty) {
        // the main process is gone but its group is not: stop what is left
        sendDownSignal();
        fx.push({ type: 'watch-group' });
        break;
      }
      afterGroupEmpty();
      break;
    }
    case 'group-empty':
      if (s.state === 'stopping' && !s.mainAlive) afterGroupEmpty();
      break;
    case 'kill-timeout':
      if (s.state === 'stopping') {
        log({ kind: 'killed-after', ms: cfg.timeoutKillMs });
        fx.push({ type: 'kill-group' });
      }
      break;
    case 'finish-done':
      if (s.state !== 'finishing') break;
      if (event.code === 125) s.finishVeto = true;
      decide();
      break;
    case 'stop-done':
      if (s.state !== 'stopping' || !cfg.oneshot) break;
      if (event.code === 0) settle('down');
      else {
        s.lastError = `stop ${event.code === null ? 'did not finish' : exitText({ code: event.code, signal: null })}`;
        settle('failed');
      }
      break;
    case 'backoff-done':
      if (s.state === 'backoff') {
        if (s.want === 'down') settle('down');
        else spawn();
      }
      break;
    case 'error':
      s.lastError = event.error;
      log({ kind: 'error', text: event.error });
      break;
    // --- health and watchdog: acted on only while up; late timers and results of a run that is ending are ignored ---
    case 'health-due':
      if (s.state === 'up' && healthOn) fx.push({ type: 'run-health-check' });
      break;
    case 'health-result':
      if (s.state === 'up' && healthOn) onHealthResult(event.ok, event.detail);
      break;
    case 'heartbeat':
      if (s.state === 'up' && watchdogOn) {
        s.lastBeatAt = at;
        fx.push({ type: 'timer', name: 'watchdog', ms: cfg.watchdogMs! });
      }
      break;
    case 'watchdog-timeout':
      if (s.state === 'up' && watchdogOn) endRun('watchdog', { kind: 'watchdog', ms: at - (s.lastBeatAt ?? at) });
      break;
    default:
      assertNever(event);
  }
  return { core: s, effects: fx };
};

function assertNever(x: never): never {
  throw new Error(`unexpected ${JSON.stringify(x)}`);
}
