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
  | { type: 'watchdog-timeout'; at: number }
  // --- reload ---
  /** A reload put new settings (`cfg`) in force; `restart`: what the service runs changed. */
  | { type: 'reconfigured'; restart: boolean; at: number };

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
  /** Read the service folder again (`l`): the interpreter reports a `reconfigured` when it put new settings in force. */
  | { type: 'reload' }
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

/**
 * One transition in the making: the next core (`s`), the effects so far
 * (`fx`), and the moves every handler below is made of. A fresh one per
 * step(); nothing outlives it.
 */
class Transition {
  readonly s: Core;
  readonly fx: Effect[] = [];
  /** Health checks and the watchdog are armed when the run becomes ready, disarmed when it leaves up. */
  readonly healthOn: boolean;
  readonly watchdogOn: boolean;

  constructor(
    prev: Core,
    readonly at: number,
    readonly cfg: Config,
    readonly signo: (s: NodeJS.Signals) => number,
  ) {
    this.s = { ...prev };
    this.healthOn = (cfg.healthIntervalMs ?? null) !== null;
    this.watchdogOn = (cfg.watchdogMs ?? null) !== null;
  }

  enter(state: State): void {
    if (this.s.state !== state) {
      this.s.state = state;
      this.s.since = this.at;
    }
  }

  log(event: SvrunEvent): void {
    this.fx.push({ type: 'log', event });
  }

  spawn(): void {
    this.s.nextStartAt = null;
    // the old group is empty by now: never signal its (reusable) id again
    this.s.pgid = null;
    this.enter('starting');
    this.fx.push({ type: 'spawn' });
  }

  settle(state: 'down' | 'failed'): void {
    this.enter(state);
    this.log({ kind: 'settled', state });
    // a oneshot's svrun reports the outcome in its exit code too
    if (this.s.exiting) this.fx.push({ type: 'exit', code: this.cfg.oneshot && state === 'failed' ? 1 : 0 });
  }

  /** A oneshot's run exited 0 (its group is gone): its effect holds, svrun is done. */
  oneshotUp(): void {
    this.becomeReady();
    this.fx.push({ type: 'exit', code: 0 });
  }

  becomeReady(): void {
    this.s.readyAt = this.at;
    this.enter('up');
    this.log({ kind: 'ready' });
    this.armMonitors();
  }

  /** Health checks and the watchdog, from now, as the settings say. */
  armMonitors(): void {
    const { s, cfg } = this;
    if (this.healthOn) {
      s.health = { ok: true, failures: 0, lastCheckAt: null };
      this.fx.push({ type: 'timer', name: 'health', ms: cfg.healthIntervalMs! });
    }
    if (this.watchdogOn) {
      s.lastBeatAt = this.at;
      this.fx.push({ type: 'timer', name: 'watchdog', ms: cfg.watchdogMs! });
    }
  }

  disarmMonitors(): void {
    if (this.healthOn) this.fx.push({ type: 'cancel-timer', name: 'health' }, { type: 'cancel-health-check' });
    if (this.watchdogOn) this.fx.push({ type: 'cancel-timer', name: 'watchdog' });
  }

  /** svrun itself ends the run (unhealthy, watchdog): stopped like a `d`, then the restart policy decides as after a failure. */
  endRun(reason: ExitReason, why: SvrunEvent): void {
    this.log(why);
    this.s.endReason = reason;
    this.sendDownSignal();
  }

  onHealthResult(ok: boolean, detail: string): void {
    const { s, at } = this;
    const h = s.health ?? { ok: true, failures: 0, lastCheckAt: null };
    const retries = this.cfg.healthRetries ?? 1;
    if (ok) {
      if (h.failures > 0) this.log({ kind: 'health-recovered', failures: h.failures });
      s.health = { ok: true, failures: 0, lastCheckAt: at };
    } else {
      const failures = h.failures + 1;
      s.health = { ok: failures < retries, failures, lastCheckAt: at };
      // healthy -> failing -> unhealthy: the first failure says how it failed, the last what svrun does about it
      if (failures === 1) this.log({ kind: 'health-failing', detail });
      if (failures >= retries) return this.endRun('unhealthy', { kind: 'unhealthy', failures });
    }
    this.fx.push({ type: 'timer', name: 'health', ms: this.cfg.healthIntervalMs! });
  }

  sendDownSignal(): void {
    const { s, cfg, fx } = this;
    if (s.state === 'up') this.disarmMonitors();
    this.enter('stopping');
    if (s.stopSentAt !== null) return;
    s.stopSentAt = this.at;
    this.log({ kind: 'stopping', signal: cfg.downSignal });
    fx.push({ type: 'signal-group', signal: cfg.downSignal }, { type: 'signal-group', signal: 'SIGCONT' });
    if (cfg.timeoutKillMs > 0) fx.push({ type: 'timer', name: 'kill', ms: cfg.timeoutKillMs });
    fx.push({ type: 'watch-group' });
  }

  /** Takes the service toward down, whatever it is doing now. */
  stop(): void {
    const { s } = this;
    switch (s.state) {
      case 'starting':
      case 'up':
        s.stopRequested = true;
        this.sendDownSignal();
        return;
      case 'stopping':
      case 'finishing':
        s.stopRequested = true;
        return;
      case 'backoff':
        this.fx.push({ type: 'cancel-timer', name: 'backoff' });
        s.nextStartAt = null;
        this.settle('down');
        return;
      case 'down':
      case 'failed':
        if (s.state === 'failed') this.settle('down');
        else if (s.exiting) this.fx.push({ type: 'exit', code: 0 });
        return;
      default:
        return assertNever(s.state);
    }
  }

  /** The run and its whole group are gone (and finish is done): what next? */
  decide(): void {
    const { s, cfg } = this;
    const exit = s.lastExit;
    // a run svrun ended (unhealthy, watchdog) failed, whatever its exit code
    const clean = exit !== null && exit.code === 0 && !exit.reason;
    if (s.want === 'down') return this.settle('down');
    if (cfg.oneshot) {
      if (clean) return this.oneshotUp();
      s.lastError = `run ${exitText(exit)}`;
      return this.settle('failed');
    }
    if (s.stopRequested) {
      // stopped on request, then wanted up again (d then u): a fresh start
      s.shortRuns = 0;
      return this.spawn();
    }
    if (s.finishVeto) return this.settle('failed');
    const restart = s.want === 'up' && (cfg.restart === 'always' || (cfg.restart === 'on-failure' && !clean));
    if (!restart) return this.settle(clean ? 'down' : 'failed');
    this.scheduleRestart();
  }

  scheduleRestart(): void {
    const { s } = this;
    const delay = restartDelay(s.shortRuns);
    s.shortRuns += 1;
    s.restarts += 1;
    this.log({ kind: 'restarting', ms: delay });
    if (delay === 0) return this.spawn();
    this.enter('backoff');
    s.nextStartAt = this.at + delay;
    this.fx.push({ type: 'timer', name: 'backoff', ms: delay });
  }

  afterGroupEmpty(): void {
    const { s, cfg } = this;
    s.pid = null;
    s.pidStart = null;
    this.fx.push({ type: 'cancel-timer', name: 'kill' });
    const exit = s.lastExit;
    if (cfg.hasFinish && exit && !cfg.oneshot) {
      this.enter('finishing');
      const sig = exit.signal ? this.signo(exit.signal as NodeJS.Signals) : 0;
      this.fx.push({ type: 'run-finish', code: exit.signal ? -1 : (exit.code ?? -1), signo: sig });
      return;
    }
    this.decide();
  }
}

type Handlers = { [K in Event['type']]: (t: Transition, e: Extract<Event, { type: K }>) => void };

/** What each event does, whatever the state (s6-supervise's actions table, one row per event). */
const ON: Handlers = {
  boot: (t) => {
    const { s, cfg } = t;
    if (cfg.oneshot) {
      // svrun for a oneshot is a transaction: bring it up (unless its effect
      // still holds), or take it down with `stop`, then exit
      if (s.want !== 'down') {
        if (s.state === 'up') t.fx.push({ type: 'exit', code: 0 });
        else t.spawn();
      } else if (s.state === 'up' && cfg.hasStop) {
        t.enter('stopping');
        t.fx.push({ type: 'run-stop' });
      } else t.settle('down');
      return;
    }
    if (s.want !== 'down') t.spawn();
  },
  command: (t, e) => {
    const { s } = t;
    switch (e.cmd) {
      case 'u':
      case 'o':
        if (s.exiting) return; // x or a stop signal to svrun is final
        s.want = e.cmd === 'u' ? 'up' : 'once';
        if (s.state === 'down' || s.state === 'failed') {
          s.shortRuns = 0;
          s.finishVeto = false;
          t.spawn();
        }
        return;
      case 'x':
        s.exiting = true;
        s.want = 'down';
        return t.stop();
      case 'd':
        s.want = 'down';
        return t.stop();
      case 'l':
        if (!s.exiting) t.fx.push({ type: 'reload' });
        return;
      default:
        assertNever(e.cmd);
    }
  },
  terminate: (t) => {
    t.s.exiting = true;
    t.s.want = 'down';
    t.stop();
  },
  send: (t, e) => {
    const { s } = t;
    if (s.pgid !== null && (isRunning(s.state) || s.state === 'stopping')) t.fx.push({ type: 'signal-group', signal: e.signal });
  },
  'kill-now': (t) => {
    const { s } = t;
    if (s.state !== 'stopping') return;
    t.log({ kind: 'killed-after', ms: t.at - (s.stopSentAt ?? t.at) });
    t.fx.push({ type: 'cancel-timer', name: 'kill' }, { type: 'kill-group' });
  },
  spawned: (t, e) => {
    const { s } = t;
    s.pid = e.pid;
    s.pgid = e.pid;
    s.mainAlive = true;
    s.pidStart = e.pidStart;
    s.startedAt = t.at;
    s.readyAt = null;
    s.lastError = null;
    s.stopRequested = false;
    s.stopSentAt = null;
    s.finishVeto = false;
    s.endReason = null;
    s.lastBeatAt = null;
    t.enter('starting');
    t.log({ kind: 'started', pid: e.pid });
    // ready comes as an event of its own, also for a service that is ready on spawn (src/supervisor/readiness.ts)
    if (s.want === 'down') t.stop();
  },
  'spawn-failed': (t, e) => {
    const { s } = t;
    s.lastError = e.error;
    t.log({ kind: 'error', text: e.error });
    if (s.want === 'down') return t.settle('down');
    if (t.cfg.oneshot) return t.settle('failed');
    s.shortRuns = Math.max(s.shortRuns, 1);
    t.scheduleRestart();
  },
  ready: (t) => {
    if (t.s.state === 'starting') t.becomeReady();
  },
  exited: (t, e) => {
    const { s } = t;
    if (s.state === 'up') t.disarmMonitors();
    // the kernel's OOM kill is the cause, whatever svrun was doing about the service
    s.lastExit = { code: e.code, signal: e.signal, at: new Date(t.at).toISOString(), reason: e.reason ?? s.endReason };
    t.log({ kind: 'exited', code: e.code, signal: e.signal, ...(e.reason === 'oom' && { outOfMemory: true as const }) });
    s.shortRuns = nextShortRuns(s.shortRuns, s.startedAt === null ? null : t.at - s.startedAt);
    s.mainAlive = false;
    if (!e.groupEmpty) {
      // the main process is gone but its group is not: stop what is left
      t.sendDownSignal();
      t.fx.push({ type: 'watch-group' });
      return;
    }
    t.afterGroupEmpty();
  },
  'group-empty': (t) => {
    if (t.s.state === 'stopping' && !t.s.mainAlive) t.afterGroupEmpty();
  },
  'kill-timeout': (t) => {
    if (t.s.state !== 'stopping') return;
    t.log({ kind: 'killed-after', ms: t.cfg.timeoutKillMs });
    t.fx.push({ type: 'kill-group' });
  },
  'finish-done': (t, e) => {
    if (t.s.state !== 'finishing') return;
    if (e.code === 125) t.s.finishVeto = true;
    t.decide();
  },
  'stop-done': (t, e) => {
    if (t.s.state !== 'stopping' || !t.cfg.oneshot) return;
    if (e.code === 0) return t.settle('down');
    t.s.lastError = `stop ${e.code === null ? 'did not finish' : exitText({ code: e.code, signal: null })}`;
    t.settle('failed');
  },
  'backoff-done': (t) => {
    if (t.s.state !== 'backoff') return;
    if (t.s.want === 'down') t.settle('down');
    else t.spawn();
  },
  error: (t, e) => {
    t.s.lastError = e.error;
    t.log({ kind: 'error', text: e.error });
  },
  // --- health and watchdog: acted on only while up; late timers and results of a run that is ending are ignored ---
  'health-due': (t) => {
    if (t.s.state === 'up' && t.healthOn) t.fx.push({ type: 'run-health-check' });
  },
  'health-result': (t, e) => {
    if (t.s.state === 'up' && t.healthOn) t.onHealthResult(e.ok, e.detail);
  },
  heartbeat: (t) => {
    if (t.s.state !== 'up' || !t.watchdogOn) return;
    t.s.lastBeatAt = t.at;
    t.fx.push({ type: 'timer', name: 'watchdog', ms: t.cfg.watchdogMs! });
  },
  'watchdog-timeout': (t) => {
    if (t.s.state === 'up' && t.watchdogOn) t.endRun('watchdog', { kind: 'watchdog', ms: t.at - (t.s.lastBeatAt ?? t.at) });
  },
  // --- reload: the new settings hold from now; a stop under way ends with the timeout it began with ---
  reconfigured: (t, e) => {
    const { s } = t;
    if (s.state === 'up') {
      // whatever the old settings armed goes; the new ones are armed from now (or the stop below disarms them)
      t.fx.push({ type: 'cancel-timer', name: 'health' }, { type: 'cancel-health-check' }, { type: 'cancel-timer', name: 'watchdog' });
      if (!t.healthOn) s.health = null;
    }
    if (e.restart && isRunning(s.state)) {
      // stopped as by `d`, but still wanted up: decide() starts it again as a fresh start
      s.stopRequested = true;
      return t.sendDownSignal();
    }
    if (e.restart && s.state === 'backoff') {
      t.fx.push({ type: 'cancel-timer', name: 'backoff' });
      s.shortRuns = 0;
      return t.spawn();
    }
    if (s.state === 'up') t.armMonitors();
  },
};

export const step = (prev: Core, event: Event, cfg: Config, signo: (s: NodeJS.Signals) => number): { core: Core; effects: Effect[] } => {
  const t = new Transition(prev, event.at, cfg, signo);
  (ON[event.type] as (t: Transition, e: Event) => void)(t, event);
  return { core: t.s, effects: t.fx };
};

function assertNever(x: never): never {
  throw new Error(`unexpected ${JSON.stringify(x)}`);
}
