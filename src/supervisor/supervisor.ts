// The effect interpreter around the pure state machine (src/supervisor/state.ts):
// it owns one unit's child processes (a service's, or its log/ logger's) and
// timers, turns what happens to them into events, and carries out the
// effects step() returns. Events are queued, so effects never re-enter
// step(). Its helpers each have a job of their own: the status file
// (statuswriter.ts), the output pipes (output.ts), the environment
// (environment.ts), readiness and health checks (readiness.ts).
import type { ChildProcess, StdioOptions } from 'node:child_process';
import type { Readable } from 'node:stream';
import { accessSync, constants, statSync } from 'node:fs';
import { GROUP_POLL_MS, ZOMBIE_LOOK_MS } from '../defaults.js';
import { errorText } from '../errors.js';
import type { Identity } from '../os/identity.js';
import type { LogSink } from '../log/builtin.js';
import { settingNearMisses } from '../settings.js';
import { eventText } from '../log/format.js';
import type { ServicePaths } from '../supervise/paths.js';
import { procStartTime } from '../os/proc.js';
import { type Containment, groupAlive, killGroup, signalGroup, type SpawnOptions, spawnContained, spawnStandby } from '../os/procgroup.js';
import { awaitExec, pollCheck, readyOnSpawn, runCheck, type RunningCheck, watchNotification } from './readiness.js';
import type { ServiceDef } from '../servicedir.js';
import { signalNumber } from '../signals.js';
import { type Config, type Core, type Effect, type Event, TIMER_EVENTS, type TimerName, step } from './state.js';
import { type HeldSettings, heldSettings, type ReloadStatus, type Status } from '../supervise/status.js';
import type { ReapTarget } from '../supervise/reaper.js';
import { serviceEnv } from './environment.js';
import { type Output, OutputPipes } from './output.js';
import { runScript } from './scripts.js';
import { type HeldStandby, StandbySlot, standbyWanted } from './standby.js';
import type { ListenSockets } from './sockets.js';
import { statusOf, StatusWriter } from './statuswriter.js';

/** How a unit's processes are wired when it is not the plain built-in-logger case. */
export interface UnitIO {
  /** stdin of run (else /dev/null). */
  stdin?: number;
  /** stdout and stderr of run, finish and stop: an fd (the held log pipe), or svrun's own. Else a pipe each, read into the LogSink. */
  output?: number | 'inherit';
  /** The logger's status subset for status.json's `log`. */
  logStatus?: () => Status['log'];
  /** Called after each status write (the logger's tells the service's status to update `log`). */
  onChange?: () => void;
  /** What a task reaper must stop should svrun die now; called whenever it changes (src/supervisor/taskreaper.ts). */
  onTarget?: (target: ReapTarget) => void;
  /** status.json's `limits` (src/os/limits.ts). */
  limits?: Status['limits'];
  /** The OOM kills counted in the service's memory cgroup, or null (src/os/usage.ts): read around each run. */
  oomKills?: () => number | null;
  /** The service's listening sockets (`listen`), bound before each start until they all are, and handed to `run` (src/supervisor/sockets.ts). */
  sockets?: ListenSockets;
  /** `l`: read the folder again and call reconfigure() (src/supervisor/reload.ts); absent: a unit that does not reload (a logger). */
  reload?: () => void;
  /** Keep the next run spawned ahead (src/supervisor/standby.ts): a service's unit, not its logger's (rare restarts, one process less). */
  standby?: boolean;
}

/** What a reload puts in force (src/supervisor/reload.ts). */
export interface Reconfiguration {
  def: ServiceDef;
  identity: Identity | null;
  nofile: Containment['nofile'];
  limits: Status['limits'];
  /** What the service runs changed: restart it (sockets kept unless `listen` changed). */
  restart: boolean;
}

/** The state machine's settings of a unit. */
const configOf = (def: ServiceDef): Config => ({
  restart: def.restart,
  downSignal: def.downSignal,
  timeoutKillMs: def.timeoutKillMs,
  hasFinish: def.finish !== null,
  oneshot: def.type === 'oneshot',
  hasStop: def.stop !== null,
  healthIntervalMs: def.healthIntervalMs,
  healthRetries: def.healthRetries,
  watchdogMs: def.watchdogMs,
});

export interface SupervisorOptions {
  def: ServiceDef;
  paths: ServicePaths;
  containment: Containment;
  log: LogSink;
  /** This supervisor, as status.json names it. */
  supervisorId: NonNullable<Status['supervisor']>;
  /** Where the state machine starts. */
  core: Core;
  /** `user` resolved (svrun is root), else null: the unit runs as svrun does. */
  identity?: Identity | null;
  io?: UnitIO;
}

export class Supervisor {
  private core: Core;
  private cfg: Config;
  private env: NodeJS.ProcessEnv;
  private readonly queue: Event[] = [];
  private dispatching = false;
  private readonly timers = new Map<TimerName, NodeJS.Timeout>();
  private groupPoll: NodeJS.Timeout | null = null;
  private child: ChildProcess | null = null;
  private readonly writer: StatusWriter;
  private readonly output: OutputPipes;
  private exitCode: ((code: number) => void) | null = null;
  /** Recorded in status.json: svctl stops us with these, whatever the folder says later (until a reload). */
  private settings: HeldSettings;
  /** The last reload's outcome, for status.json (null before the first). */
  private lastReload: ReloadStatus | null = null;
  private target: ReapTarget | null = null;
  /** The health check running now, if any (one at a time: the next is timed from the end of this one). */
  private healthCheck: RunningCheck | null = null;
  /** The memory cgroup's OOM kill count when the current run started. */
  private oomKillsAtStart: number | null = null;
  /** The run whose exec awaitExec is looking for (status.json is not written meanwhile: holdingStarting). */
  private execAwaited: ChildProcess | null = null;
  /** The next run, spawned ahead (src/supervisor/standby.ts); none once the unit exited. */
  private readonly standby = new StandbySlot(() => this.spawnStandby());
  private exited = false;

  private def: ServiceDef;
  private containment: Containment;
  private readonly log: LogSink;
  /** Who status.json names as supervisor; null once the supervision is over (ended()). */
  private supervisorId: Status['supervisor'];
  private identity: Identity | null;
  private readonly io: UnitIO;

  constructor(o: SupervisorOptions) {
    ({ def: this.def, containment: this.containment, log: this.log, supervisorId: this.supervisorId } = o);
    this.identity = o.identity ?? null;
    this.io = o.io ?? {};
    const def = this.def;
    this.core = o.core;
    this.cfg = configOf(def);
    this.env = serviceEnv(def, this.identity);
    this.settings = heldSettings(def);
    this.output = new OutputPipes(this.log, this.io.output);
    this.writer = new StatusWriter(o.paths, {
      current: () => this.status(),
      failed: (text) => {
        // not an event: dispatching writes the status again
        this.log.line('svrun', eventText({ kind: 'error', text }));
        this.core = { ...this.core, lastError: text };
      },
      // a planted folder moved out of status.json's or pid's way: said in the log, not an error that holds
      repaired: (text) => this.log.line('svrun', eventText({ kind: 'error', text })),
      written: () => {
        // once a write succeeds again, a `status:` error in lastError no longer holds
        if (this.core.lastError?.startsWith('status: ')) this.resolveError('status: ');
        else this.io.onChange?.();
      },
      // logged, not lastError: the service is fine, only tampering is noticed later
      unwatched: (text) => this.log.line('svrun', eventText({ kind: 'error', text })),
    });
  }

  /** Runs until the state machine asks to exit; resolves with the exit code. */
  run(): Promise<number> {
    const done = new Promise<number>((resolve) => (this.exitCode = resolve));
    // a mistyped setting is no setting at all: said once in the log, not lastError (the service starts as it is)
    for (const w of settingNearMisses(this.def.dir, this.def.name)) this.log.line('svrun', eventText({ kind: 'error', text: w }));
    this.dispatch({ type: 'boot', at: Date.now() });
    return done;
  }

  dispatch(event: Event): void {
    this.queue.push(event);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let ev = this.queue.shift(); ev; ev = this.queue.shift()) {
        const { core, effects } = step(this.core, ev, this.cfg, signalNumber);
        this.core = core;
        for (const fx of effects) this.perform(fx);
      }
    } finally {
      this.dispatching = false;
    }
    this.reportTarget();
    if (!this.holdingStarting()) this.persist();
    const { pidsMax } = this.def.limits;
    this.standby.keep(!this.exited && this.io.standby === true && standbyWanted(this.core, this.cfg, pidsMax, this.standby.failedAt));
  }

  /**
   * A run that is ready once exec'd is not written as `starting` while its
   * exec is awaited (a few ms, EXEC_WAIT_MS at most): the next write says
   * `up`, so a start or restart costs one status write, not two, and
   * svrun looks for the exec instead of writing. The task reaper is told
   * the new group at once all the same (reportTarget).
   */
  private holdingStarting(): boolean {
    return this.core.state === 'starting' && this.execAwaited !== null && this.execAwaited === this.child;
  }

  /** Tells the task reaper the current process group (and its leader's start time) when it changed. */
  private reportTarget(): void {
    if (!this.io.onTarget) return;
    const { pid, pidStart, state } = this.core;
    // once the group is known empty its id is history: never hand it to the reaper
    const pgid = pid !== null || state === 'stopping' ? this.core.pgid : null;
    // the group outlives its leader (stopping): keep the start time learnt at spawn
    const start = pgid === null ? null : pgid === pid ? pidStart : pgid === this.target?.pgid ? this.target.pidStart : null;
    if (this.target && this.target.pgid === pgid && this.target.pidStart === start) return;
    const { downSignal: signal, timeoutKillMs } = this.def;
    this.target = { pgid, pidStart: start, signal, timeoutKillMs, cgroup: this.containment.cgroup, v1Cgroups: this.containment.v1Cgroups };
    this.io.onTarget(this.target);
  }

  /** Records an error that is svrun's own (log, status file), without a state change. */
  noteError(text: string): void {
    this.dispatch({ type: 'error', error: text, at: Date.now() });
  }

  /** An error of svrun's own (`log: `, `status: `...) that no longer holds leaves lastError (and status.json). */
  resolveError(prefix: string): void {
    if (!this.core.lastError?.startsWith(prefix)) return;
    this.core = { ...this.core, lastError: null };
    this.persist();
  }

  /** Ctrl-Z: the service's processes stop with us; `fg` (SIGCONT) continues them. */
  freezeGroup(signal: 'SIGSTOP' | 'SIGCONT'): void {
    // only a group that still exists: in down/failed/backoff the old id may belong to someone else by now
    const live = this.core.state === 'starting' || this.core.state === 'up' || this.core.state === 'stopping';
    if (live && this.core.pgid !== null) signalGroup(this.containment, this.core.pgid, signal, this.standby.pid);
  }

  get state() {
    return this.core.state;
  }

  /**
   * A reload read the folder: `next` (null when nothing is applied, `record`
   * says why) holds from now, for the state machine, the environment of
   * what starts next, the task reaper and status.json.
   */
  reconfigure(next: Reconfiguration | null, record: Omit<ReloadStatus, 'restarted'>): void {
    const running = ['starting', 'up', 'backoff'].includes(this.core.state);
    this.lastReload = { ...record, restarted: next !== null && next.restart && running };
    if (next === null) return this.persist();
    ({ def: this.def, identity: this.identity } = next);
    this.cfg = configOf(next.def);
    this.env = serviceEnv(next.def, next.identity);
    this.settings = heldSettings(next.def);
    this.containment = { ...this.containment, nofile: next.nofile };
    this.io.limits = next.limits;
    this.target = null; // the task reaper learns the new down-signal and timeout-kill
    this.standby.keep(false); // spawned with what was in force: the next one gets the new run, environment, user and sockets
    this.dispatch({ type: 'reconfigured', restart: next.restart, at: Date.now() });
  }

  /**
   * The supervision is over (everything stopped, the lock about to be let
   * go): status.json names no supervisor any more. The process may live on,
   * hosting other services, so its pid no longer says "supervised".
   */
  ended(): void {
    this.supervisorId = null;
    this.persist();
  }

  status(): Status {
    return statusOf(this.core, {
      name: this.def.name,
      type: this.def.type,
      supervisor: this.supervisorId,
      log: this.io.logStatus?.() ?? null,
      cgroup: this.containment.cgroup,
      settings: this.settings,
      limits: this.io.limits ?? null,
      reload: this.io.reload ? this.lastReload : undefined,
    });
  }

  /** Writes status.json (and supervise/pid) when they changed, or when `force`d (src/supervisor/statuswriter.ts). */
  persist(force = false): void {
    this.writer.write(force);
  }

  private perform(fx: Effect): void {
    const now = () => Date.now();
    switch (fx.type) {
      case 'spawn':
        return this.spawnRun();
      case 'signal-group':
        if (this.core.pgid !== null) signalGroup(this.containment, this.core.pgid, fx.signal, this.standby.pid);
        return;
      case 'kill-group':
        if (this.core.pgid !== null) killGroup(this.containment, this.core.pgid);
        return;
      case 'watch-group':
        return this.watchGroup();
      case 'timer': {
        this.clearTimer(fx.name);
        const type = TIMER_EVENTS[fx.name];
        this.timers.set(
          fx.name,
          setTimeout(() => this.dispatch({ type, at: now() }), fx.ms),
        );
        return;
      }
      case 'cancel-timer':
        return this.clearTimer(fx.name);
      case 'run-finish':
        return this.runScript('finish', this.def.finish!, [String(fx.code), String(fx.signo)], (code) =>
          this.dispatch({ type: 'finish-done', code, at: Date.now() }),
        );
      case 'run-stop':
        return this.runScript('stop', this.def.stop!, this.args, (code) => this.dispatch({ type: 'stop-done', code, at: Date.now() }));
      case 'run-health-check':
        return this.runHealthCheck();
      case 'cancel-health-check':
        this.healthCheck?.cancel();
        this.healthCheck = null;
        return;
      case 'reload':
        return this.io.reload?.();
      case 'log':
        return this.log.line('svrun', eventText(fx.event));
      case 'exit':
        // everything is stopped: what the pipes still hold is the last output there will be
        this.output.drainAll();
        this.healthCheck?.cancel();
        this.healthCheck = null;
        this.stopWatching();
        for (const name of [...this.timers.keys()]) this.clearTimer(name);
        this.writer.close();
        this.exited = true;
        // the supervision is over once the standby is gone too (the cgroup is removed next)
        return this.standby.close(() => this.exitCode?.(fx.code));
      default:
        return assertNever(fx);
    }
  }

  private clearTimer(name: TimerName): void {
    const t = this.timers.get(name);
    if (t) clearTimeout(t);
    this.timers.delete(name);
  }

  /** run, finish, check and stop get the instance name as $1. */
  private get args(): string[] {
    return this.def.instance !== null ? [this.def.instance] : [];
  }

  private spawnBase() {
    return { cwd: this.def.dir, env: this.env, identity: this.identity };
  }

  /** run's descriptors: stdin, `output`'s two, the listening sockets (3, 4, ...), and the notification-fd's pipe (read by svrun; not fd 1 or 2, a socketpair will do). */
  private stdio(output: Output): StdioOptions {
    const stdio: StdioOptions = [this.io.stdin ?? 'ignore', ...output.stdio, ...(this.io.sockets?.fds() ?? [])];
    const nfd = this.def.notificationFd;
    if (nfd !== null) {
      while (stdio.length < nfd) stdio.push('ignore');
      stdio.push('pipe');
    }
    return stdio;
  }

  /** How `run` is spawned, on the spot or ahead (a standby): its file, environment (listening sockets included) and descriptors. */
  private runOptions(output: Output): SpawnOptions {
    const sockets = this.io.sockets;
    return {
      ...this.spawnBase(),
      ...(sockets && sockets.count > 0 && { env: { ...this.env, ...sockets.env() }, listenPid: true }),
      file: this.def.run,
      args: this.args,
      stdio: this.stdio(output),
      deathSignal: this.def.downSignal,
    };
  }

  /** The next run, spawned ahead and wired as spawnRun wires one (src/supervisor/standby.ts). */
  private spawnStandby(): HeldStandby | null {
    let output: Output | null = null;
    try {
      output = this.output.open();
      const standby = spawnStandby(this.containment, this.runOptions(output));
      if (standby) return { standby, drain: output.spawned(standby.child) };
      output.spawned(null);
      return null;
    } catch {
      output?.spawned(null);
      return null; // the next restart spawns as it would without, and says what fails
    }
  }

  private spawnRun(): void {
    const at = Date.now();
    try {
      // a folder passes X_OK, then fails in exec as "exited 126": say what is wrong instead
      if (!statSync(this.def.run).isFile()) return this.dispatch({ type: 'spawn-failed', error: 'run: not an executable file', at });
      accessSync(this.def.run, constants.X_OK);
    } catch (err) {
      return this.dispatch({ type: 'spawn-failed', error: `run: ${errorText(err)}`, at });
    }
    try {
      // bound before the first start (and again after a reload that changed them); a failure is retried like a failed spawn
      this.io.sockets?.bind();
    } catch (err) {
      return this.dispatch({ type: 'spawn-failed', error: errorText(err), at });
    }
    this.oomKillsAtStart = this.io.oomKills?.() ?? null;
    // the standby, if one waits, becomes the run: it is in the cgroups already
    const ahead = this.standby.take();
    let child: ChildProcess;
    let drain: () => void;
    if (ahead) ({ child, drain } = ahead);
    else {
      let output: Output | null = null;
      try {
        output = this.output.open();
        child = spawnContained(this.containment, this.runOptions(output));
      } catch (err) {
        output?.spawned(null);
        return this.dispatch({ type: 'spawn-failed', error: `run: ${errorText(err)}`, at });
      }
      drain = output.spawned(child);
    }
    const pid = child.pid;
    if (pid === undefined) {
      child.once('error', (err) => this.dispatch({ type: 'spawn-failed', error: `run: ${errorText(err)}`, at: Date.now() }));
      return;
    }
    this.child = child;
    child.on('error', (err) => this.noteError(`run: ${errorText(err)}`));
    child.once('exit', (code, signal) => {
      drain(); // its last lines before `exited`
      if (this.child === child) this.child = null;
      // a longrun that exits just after being spawned was still ready (docs/services.md)
      if (readyOnSpawn(this.def) && this.core.state === 'starting' && this.core.pid === pid)
        this.dispatch({ type: 'ready', at: Date.now() });
      this.dispatch({
        type: 'exited',
        code: signal ? null : code,
        signal,
        groupEmpty: !groupAlive(this.containment, pid, false, this.standby.pid) && !this.standby.leaving,
        at: Date.now(),
        reason: this.oomGrew() ? 'oom' : null,
      });
    });
    this.dispatch({ type: 'spawned', pid, pidStart: procStartTime(pid), at });
    this.watchReadiness(child, pid, at);
  }

  /** Did the kernel's OOM killer act in the service's cgroup since this run started? (counted when it kills, before the exit is seen) */
  private oomGrew(): boolean {
    const now = this.io.oomKills?.() ?? null;
    return now !== null && this.oomKillsAtStart !== null && now > this.oomKillsAtStart;
  }

  /** The readiness watchers of one run: they stop as soon as it is not the run starting. */
  private watchReadiness(child: ChildProcess, pid: number, startedAt: number): void {
    const w = {
      current: () => this.child === child && this.core.state === 'starting',
      ready: () => this.dispatch({ type: 'ready', at: Date.now() }),
    };
    const nfd = this.def.notificationFd;
    const pipe = nfd === null ? null : child.stdio[nfd];
    // an extra 'pipe' stdio entry: the parent reads it; lines after readiness are heartbeats (watchdog)
    const heartbeat = () => {
      if (this.child === child) this.dispatch({ type: 'heartbeat', at: Date.now() });
    };
    if (pipe) watchNotification(pipe as Readable, w, heartbeat);
    if (this.def.check) {
      pollCheck(
        { spawnCheck: () => this.spawnCheck(), startedAt, timeoutReadyMs: this.def.timeoutReadyMs, onError: (t) => this.noteError(t) },
        w,
      );
    }
    if (readyOnSpawn(this.def)) {
      this.execAwaited = child;
      awaitExec(this.containment, pid, {
        current: w.current,
        ready: () => {
          if (this.execAwaited === child) this.execAwaited = null;
          w.ready();
        },
      });
    }
  }

  /** One run of `check`, contained like the service (its cgroup, its user), killed if svrun dies. */
  private spawnCheck(): ChildProcess {
    return spawnContained(this.containment, {
      ...this.spawnBase(),
      file: this.def.check!,
      args: this.args,
      stdio: 'ignore',
      deathSignal: 'SIGKILL',
    });
  }

  /** A health check while up (health-interval), bounded by health-timeout; its result goes to the state machine. */
  private runHealthCheck(): void {
    this.healthCheck?.cancel();
    const running = runCheck(
      () => this.spawnCheck(),
      this.def.healthTimeoutMs,
      (r) => {
        if (this.healthCheck !== running) return;
        this.healthCheck = null;
        this.dispatch({ type: 'health-result', ok: r.ok, detail: r.detail, at: Date.now() });
      },
    );
    this.healthCheck = running;
  }

  /** Polls while stopping until the service's group (or cgroup) is empty, then reports it. */
  private watchGroup(): void {
    if (this.groupPoll) return;
    let ticks = 0;
    this.groupPoll = setInterval(() => {
      if (this.core.state !== 'stopping') return this.stopWatching();
      const pgid = this.core.pgid;
      ticks += 1;
      // now and then, look past zombies that nobody reaps
      const thorough = ticks % Math.round(ZOMBIE_LOOK_MS / GROUP_POLL_MS) === 0;
      if (pgid !== null && groupAlive(this.containment, pgid, thorough, this.standby.pid)) return;
      if (this.standby.leaving) return; // a standby discarded is the service's until it is gone
      this.dispatch({ type: 'group-empty', at: Date.now() });
      // ignored while the main process's exit is still to be reported: keep looking
      if (this.core.state !== 'stopping') this.stopWatching();
    }, GROUP_POLL_MS);
  }

  private stopWatching(): void {
    if (this.groupPoll) clearInterval(this.groupPoll);
    this.groupPoll = null;
  }

  /** `finish` (after each exit of a longrun) or a oneshot's `stop` (src/supervisor/scripts.ts). */
  private runScript(what: 'finish' | 'stop', file: string, args: string[], done: (code: number | null) => void): void {
    runScript({
      what,
      spawn: (stdio) => spawnContained(this.containment, { ...this.spawnBase(), file, args, stdio, deathSignal: 'SIGTERM' }),
      output: this.output,
      timeoutMs: this.def.timeoutFinishMs,
      log: this.log,
      onError: (text) => this.noteError(text),
      done,
    });
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected effect ${JSON.stringify(x)}`);
}
