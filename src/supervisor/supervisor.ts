// The effect interpreter around the pure state machine (src/supervisor/state.ts): it
// owns the child processes, timers, the status file and the log, turns what
// happens to them into events, and carries out the effects step() returns.
// Events are queued, so effects never re-enter step().
import type { ChildProcess, StdioOptions } from 'node:child_process';
import type { Readable } from 'node:stream';
import { accessSync, constants, type FSWatcher, lstatSync, readSync, type Stats, statSync, watch } from 'node:fs';
import { GROUP_POLL_MS, IO_RETRY_MS, PARTIAL_LINE_IDLE_MS, STATUS_CHECK_DEBOUNCE_MS, STATUS_CHECK_FALLBACK_MS, ZOMBIE_LOOK_MS } from '../defaults.js';
import { errorText } from '../errors.js';
import type { Identity } from '../os/identity.js';
import { cleanLine, LineSplitter, PARTIAL_MARKER, type LogSink } from '../log/builtin.js';
import { eventText, type Stream } from '../log/format.js';
import type { ServicePaths } from '../supervise/paths.js';
import { procStartTime } from '../os/proc.js';
import { closeFds, openPipe, type Pipe, pipeUnavailable, readEnd } from '../os/pipes.js';
import { type Containment, groupAlive, killGroup, signalGroup, spawnContained } from '../os/procgroup.js';
import { awaitExec, pollCheck, readyOnSpawn, runCheck, type RunningCheck, watchNotification } from './readiness.js';
import { replaceFile } from '../os/safefile.js';
import type { ServiceDef } from '../servicedir.js';
import { signalNumber } from '../signals.js';
import { type Config, type Core, type Effect, type Event, TIMER_EVENTS, type TimerName, step } from './state.js';
import { type HeldSettings, heldSettings, type Status, writeStatus } from '../supervise/status.js';
import type { ReapTarget } from '../supervise/reaper.js';

/** finish and stop are killed by their own process group alone. */
const UNGROUPED: Containment = { cgroup: null, setpriv: null };

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The service's environment: svrun's own, env/ applied, and what the client library reads. */
export const serviceEnv = (def: ServiceDef, identity: Identity | null): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (identity) {
    env.HOME = identity.home;
    env.USER = identity.name;
    env.LOGNAME = identity.name;
  }
  for (const [k, v] of Object.entries(def.env)) {
    if (v === null) delete env[k];
    else env[k] = v;
  }
  env.SVKIT_SERVICE = def.name;
  env.SVKIT_DOWN_SIGNAL = def.downSignal;
  env.SVKIT_TIMEOUT_KILL = String(def.timeoutKillMs);
  if (def.instance !== null) env.SVKIT_INSTANCE = def.instance;
  if (def.notificationFd !== null) env.SVKIT_NOTIFY_FD = String(def.notificationFd);
  else delete env.SVKIT_NOTIFY_FD;
  // the client library sends heartbeats every third of it (src/client/index.ts)
  if (def.watchdogMs !== null) env.SVKIT_WATCHDOG_MS = String(def.watchdogMs);
  else delete env.SVKIT_WATCHDOG_MS;
  return env;
};

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
}

/** fds 1 and 2 of a process about to be spawned; `spawned` is told the child (null: spawn threw) and lets go of svrun's copies. */
interface Output {
  stdio: [number | 'pipe' | 'inherit', number | 'pipe' | 'inherit'];
  /** Returns what logs at once what the child wrote so far (see readOutput). */
  spawned(child: ChildProcess | null): () => void;
}

const noDrain = () => {};
/** One buffer for every drain: they run synchronously, one at a time. */
const drainBuffer = Buffer.allocUnsafe(64 * 1024);
/** A drain reads at most this much: a full pipe (64 KiB, up to 1 MiB if a service enlarged it). */
const DRAIN_MAX_BYTES = 1024 * 1024;

/** The socketpair fallback is logged once per svrun, not once per spawn. */
let socketsNoted = false;

export class Supervisor {
  private core: Core;
  private readonly cfg: Config;
  private readonly env: NodeJS.ProcessEnv;
  private readonly queue: Event[] = [];
  private dispatching = false;
  private readonly timers = new Map<TimerName, NodeJS.Timeout>();
  private groupPoll: NodeJS.Timeout | null = null;
  private child: ChildProcess | null = null;
  private written = '';
  /** null: not written yet (the first persist writes it, empty when there is no pid). */
  private writtenPid: string | null = null;
  private statusRetry: NodeJS.Timeout | null = null;
  /** Watching status.json and pid for writes that are not ours (src: watchFiles). */
  private watchers: FSWatcher[] = [];
  private checkTimer: NodeJS.Timeout | null = null;
  /** How status.json and pid looked when we wrote them (fstat before the rename). */
  private readonly mine = new Map<string, string>();
  private exited = false;
  private exitCode: ((code: number) => void) | null = null;
  /** Recorded in status.json: svctl stops us with these, whatever the folder says later. */
  private readonly settings: HeldSettings;
  private target: ReapTarget | null = null;
  /** The health check running now, if any (one at a time: the next is timed from the end of this one). */
  private healthCheck: RunningCheck | null = null;
  /** The memory cgroup's OOM kill count when the current run started. */
  private oomKillsAtStart: number | null = null;
  /** The drains of outputs still open (see readOutput). */
  private readonly drains = new Set<() => void>();
  /** The run whose exec awaitExec is looking for (status.json is not written meanwhile: holdingStarting). */
  private execAwaited: ChildProcess | null = null;

  constructor(
    private readonly def: ServiceDef,
    private readonly paths: ServicePaths,
    private readonly containment: Containment,
    private readonly log: LogSink,
    private readonly supervisorId: NonNullable<Status['supervisor']>,
    core: Core,
    private readonly identity: Identity | null = null,
    private readonly io: UnitIO = {},
  ) {
    this.core = core;
    this.cfg = {
      restart: def.restart,
      downSignal: def.downSignal,
      timeoutKillMs: def.timeoutKillMs,
      hasFinish: def.finish !== null,
      oneshot: def.type === 'oneshot',
      hasStop: def.stop !== null,
      healthIntervalMs: def.healthIntervalMs,
      healthRetries: def.healthRetries,
      watchdogMs: def.watchdogMs,
    };
    this.env = serviceEnv(def, identity);
    this.settings = heldSettings(def);
  }

  /** Runs until the state machine asks to exit; resolves with the exit code. */
  run(): Promise<number> {
    const done = new Promise<number>((resolve) => (this.exitCode = resolve));
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
    if (live && this.core.pgid !== null) signalGroup(this.containment, this.core.pgid, signal);
  }

  get state() {
    return this.core.state;
  }

  status(): Status {
    const c = this.core;
    return {
      version: 1,
      name: this.def.name,
      type: this.def.type,
      supervisor: this.supervisorId,
      want: c.want,
      state: c.state,
      since: iso(c.since)!,
      pid: c.pid,
      pidStart: c.pidStart,
      startedAt: iso(c.startedAt),
      readyAt: iso(c.readyAt),
      restarts: c.restarts,
      lastExit: c.lastExit,
      log: this.io.logStatus?.() ?? null,
      nextStartAt: iso(c.nextStartAt),
      lastError: c.lastError,
      health: c.health && { ok: c.health.ok, failures: c.health.failures, lastCheckAt: iso(c.health.lastCheckAt) },
      cgroup: this.containment.cgroup,
      settings: this.settings,
      limits: this.io.limits ?? null,
    };
  }

  /**
   * Writes status.json (and supervise/pid) when they changed, or when `force`d
   * (someone else wrote them); a failure is logged and retried. Once a write
   * succeeds again, a `status:` error in lastError is resolved and cleared.
   */
  persist(force = false): void {
    const status = this.status();
    const text = JSON.stringify(status);
    const pidText = status.pid === null ? '' : `${status.pid}\n`;
    if (!force && text === this.written && pidText === this.writtenPid) return;
    try {
      // 0644, like status.json: a pid is no secret, and tools that read pid files may run as anyone
      if (force || pidText !== this.writtenPid) this.mine.set(this.paths.pid, signature(replaceFile(this.paths.pid, pidText, 0o644)));
      this.writtenPid = pidText;
      this.mine.set(this.paths.status, signature(writeStatus(this.paths.status, status)));
      this.written = text;
    } catch (err) {
      this.log.line('svrun', eventText({ kind: 'error', text: `status: ${errorText(err)}` }));
      this.core = { ...this.core, lastError: `status: ${errorText(err)}` };
      this.statusRetry ??= setTimeout(() => {
        this.statusRetry = null;
        this.persist();
      }, IO_RETRY_MS);
      return;
    }
    if (this.core.lastError?.startsWith('status: ')) return this.resolveError('status: ');
    this.watchFiles();
    this.io.onChange?.();
  }

  /**
   * status.json and pid are watched (inotify, one watch each, re-armed after
   * each of our writes since a write replaces the file): if anyone else
   * overwrites, replaces or removes them, they are written again at once,
   * rather than staying wrong until the next change of state. The watches do
   * not keep svrun alive, and our own writes compare equal, so never loop.
   * Where inotify is not available, a slow timer looks instead.
   */
  private watchFiles(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.exited) return;
    const files = [...this.mine.keys()];
    try {
      for (const f of files) {
        const w = watch(f, { persistent: false }, () => this.scheduleCheck());
        w.on('error', () => this.scheduleCheck());
        this.watchers.push(w);
      }
    } catch (err) {
      // removed already: write it again soon; no inotify watch left: look now and then
      this.scheduleCheck((err as NodeJS.ErrnoException).code === 'ENOENT' ? STATUS_CHECK_DEBOUNCE_MS : STATUS_CHECK_FALLBACK_MS);
      return;
    }
    // a write between ours and the watch is seen by no watch: look once now
    if (this.changedFiles()) this.scheduleCheck();
  }

  /** True when status.json or pid is not as svrun wrote it. */
  private changedFiles(): boolean {
    return [...this.mine].some(([f, sig]) => signatureOf(f) !== sig);
  }

  private scheduleCheck(ms = STATUS_CHECK_DEBOUNCE_MS): void {
    if (this.checkTimer || this.exited) return;
    this.checkTimer = setTimeout(() => {
      this.checkTimer = null;
      if (this.changedFiles()) this.persist(true);
      else this.watchFiles();
    }, ms);
    this.checkTimer.unref();
  }

  private perform(fx: Effect): void {
    const now = () => Date.now();
    switch (fx.type) {
      case 'spawn':
        return this.spawnRun();
      case 'signal-group':
        if (this.core.pgid !== null) signalGroup(this.containment, this.core.pgid, fx.signal);
        return;
      case 'kill-group':
        if (this.core.pgid !== null) killGroup(this.containment, this.core.pgid);
        return;
      case 'watch-group':
        return this.watchGroup();
      case 'timer': {
        this.clearTimer(fx.name);
        const type = TIMER_EVENTS[fx.name];
        this.timers.set(fx.name, setTimeout(() => this.dispatch({ type, at: now() }), fx.ms));
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
      case 'log':
        return this.log.line('svrun', eventText(fx.event));
      case 'exit':
        // everything is stopped: what the pipes still hold is the last output there will be
        for (const drain of [...this.drains]) drain();
        this.healthCheck?.cancel();
        this.healthCheck = null;
        this.stopWatching();
        for (const name of [...this.timers.keys()]) this.clearTimer(name);
        if (this.statusRetry) clearTimeout(this.statusRetry);
        this.statusRetry = null;
        this.stopWatchingFiles();
        this.exitCode?.(fx.code);
        return;
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

  /** run's descriptors: stdin, `output`'s two, and the notification-fd's pipe (read by svrun; not fd 1 or 2, a socketpair will do). */
  private stdio(output: Output): StdioOptions {
    const stdio: StdioOptions = [this.io.stdin ?? 'ignore', ...output.stdio];
    const nfd = this.def.notificationFd;
    if (nfd !== null) {
      while (stdio.length < nfd) stdio.push('ignore');
      stdio.push('pipe');
    }
    return stdio;
  }

  /**
   * fds 1 and 2 for one process svrun starts: the descriptor the unit was
   * given (the held log pipe), or a fresh pipe each (src/os/pipes.ts), read
   * into the log once spawned. Throws (EMFILE) like a failed spawn.
   */
  private openOutput(): Output {
    const given = this.io.output;
    if (given !== undefined) return { stdio: [given, given], spawned: () => noDrain };
    const out = openPipe();
    if (!out) return this.socketOutput();
    let err: Pipe;
    try {
      err = openPipe()!;
    } catch (e) {
      closeFds(out.read, out.write);
      throw e;
    }
    return {
      stdio: [out.write, err.write],
      spawned: (child) => {
        // the child holds its own copies now: ours would keep the read ends from ever seeing EOF
        closeFds(out.write, err.write);
        if (child) return this.readOutput([['out', readEnd(out.read), out.read], ['err', readEnd(err.read), err.read]]);
        closeFds(out.read, err.read);
        return noDrain;
      },
    };
  }

  /** Without pipe2 (koffi missing): Node's socketpairs, as before, said once in the log. */
  private socketOutput(): Output {
    if (!socketsNoted) {
      socketsNoted = true;
      this.log.line('svrun', eventText({ kind: 'error', text: `pipes: ${pipeUnavailable()}; stdout and stderr are sockets (/dev/stdout cannot be opened)` }));
    }
    return { stdio: ['pipe', 'pipe'], spawned: (child) => (child ? this.readOutput([['out', child.stdout, null], ['err', child.stderr, null]]) : noDrain) };
  }

  /**
   * Lines of a process's stdout and stderr into the log, until both end. The
   * drain it returns logs at once what the pipes hold (svrun reads its
   * pipe ends itself, never blocking: libuv made them non-blocking), so that
   * a process's last lines come before the `exited` line and none is left
   * unread when svrun exits; it is run at each exit, and for all at svrun's.
   */
  private readOutput(outputs: readonly [Stream, Readable | null, number | null][]): () => void {
    const drains = outputs.map(([stream, source, fd]) => {
      if (!source) return () => {};
      const split = new LineSplitter(
        (text, partial) => this.log.line(stream, cleanLine(text) + (partial ? PARTIAL_MARKER : '')),
        PARTIAL_LINE_IDLE_MS,
      );
      source.on('data', (chunk: Buffer) => {
        split.push(chunk);
        // back-pressure: a service that writes faster than the log is written waits, as on a pipe
        if (this.log.backlogged && !source.isPaused()) {
          source.pause();
          this.log.onDrain(() => source.resume());
        }
      });
      const ended = () => {
        split.end();
        this.drains.delete(drain);
      };
      source.on('end', ended);
      source.on('error', ended);
      source.on('close', ended);
      const drain = () => {
        // a destroyed stream's fd may be someone else's by now: never read it
        if (source.destroyed || source.readableEnded) return;
        while (source.read() !== null); // what the stream holds first ('data' logs it), then the pipe
        if (fd === null) return;
        // what the pipe holds now, not what a writer still running adds meanwhile (a flood would hold svrun here)
        for (let left = DRAIN_MAX_BYTES; left > 0; ) {
          let n: number;
          try {
            n = readSync(fd, drainBuffer);
          } catch {
            return; // EAGAIN: empty, a writer is still there
          }
          if (n === 0) {
            ended(); // every writer is gone: a last line without newline is written now, marked partial
            source.destroy();
            return;
          }
          split.push(Buffer.from(drainBuffer.subarray(0, n)));
          left -= n;
        }
      };
      this.drains.add(drain);
      return drain;
    });
    return () => drains.forEach((d) => d());
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
    this.oomKillsAtStart = this.io.oomKills?.() ?? null;
    let child: ChildProcess;
    let output: Output | null = null;
    try {
      output = this.openOutput();
      child = spawnContained(this.containment, {
        ...this.spawnBase(),
        file: this.def.run,
        args: this.args,
        stdio: this.stdio(output),
        deathSignal: this.def.downSignal,
      });
    } catch (err) {
      output?.spawned(null);
      return this.dispatch({ type: 'spawn-failed', error: `run: ${errorText(err)}`, at });
    }
    const drain = output.spawned(child);
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
      if (readyOnSpawn(this.def) && this.core.state === 'starting' && this.core.pid === pid) this.dispatch({ type: 'ready', at: Date.now() });
      this.dispatch({
        type: 'exited',
        code: signal ? null : code,
        signal,
        groupEmpty: !groupAlive(this.containment, pid),
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
      pollCheck({ spawnCheck: () => this.spawnCheck(), startedAt, timeoutReadyMs: this.def.timeoutReadyMs, onError: (t) => this.noteError(t) }, w);
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
    return spawnContained(this.containment, { ...this.spawnBase(), file: this.def.check!, args: this.args, stdio: 'ignore', deathSignal: 'SIGKILL' });
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
      if (pgid !== null && groupAlive(this.containment, pgid, ticks % Math.round(ZOMBIE_LOOK_MS / GROUP_POLL_MS) === 0)) return;
      this.dispatch({ type: 'group-empty', at: Date.now() });
      // ignored while the main process's exit is still to be reported: keep looking
      if (this.core.state !== 'stopping') this.stopWatching();
    }, GROUP_POLL_MS);
  }

  private stopWatchingFiles(): void {
    this.exited = true;
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.checkTimer) clearTimeout(this.checkTimer);
    this.checkTimer = null;
  }

  private stopWatching(): void {
    if (this.groupPoll) clearInterval(this.groupPoll);
    this.groupPoll = null;
  }

  /** `finish` (after each exit of a longrun) or a oneshot's `stop`: bounded by timeout-finish, its group killed after it. */
  private runScript(what: 'finish' | 'stop', file: string, args: string[], done: (code: number | null) => void): void {
    const fail = (err: unknown) => {
      this.noteError(`${what}: ${errorText(err)}`);
      done(null);
    };
    let child: ChildProcess;
    let output: Output | null = null;
    try {
      output = this.openOutput();
      child = spawnContained(this.containment, { ...this.spawnBase(), file, args, stdio: ['ignore', ...output.stdio], deathSignal: 'SIGTERM' });
    } catch (err) {
      output?.spawned(null);
      return fail(err);
    }
    const drain = output.spawned(child);
    const pid = child.pid;
    if (pid === undefined) {
      child.once('error', fail);
      return;
    }
    const timer = setTimeout(() => {
      this.log.line('svrun', eventText({ kind: 'error', text: `${what}: killed after ${this.def.timeoutFinishMs} ms` }));
      killGroup(UNGROUPED, pid);
    }, this.def.timeoutFinishMs);
    child.on('error', () => {});
    child.once('exit', (code) => {
      drain();
      clearTimeout(timer);
      killGroup(UNGROUPED, pid);
      done(code);
    });
  }
}

/** How a file looks (inode, mode, size, mtime): tells svrun's last write from anyone else's. */
const signature = (st: Stats): string => `${st.ino} ${st.mode} ${st.size} ${st.mtimeMs}`;

/** The file's signature now; a file that is gone never matches. */
const signatureOf = (path: string): string => {
  try {
    return signature(lstatSync(path));
  } catch {
    return 'missing';
  }
};

function assertNever(x: never): never {
  throw new Error(`unexpected effect ${JSON.stringify(x)}`);
}
