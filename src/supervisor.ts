// The effect interpreter around the pure state machine (src/state.ts): it
// owns the child processes, timers, the status file and the log, turns what
// happens to them into events, and carries out the effects step() returns.
// Events are queued, so effects never re-enter step().
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { accessSync, constants, writeFileSync } from 'node:fs';
import { GROUP_POLL_MS, IO_RETRY_MS } from './defaults.js';
import { errorText } from './errors.js';
import { LineSplitter, type LogSink } from './logger.js';
import type { ServicePaths } from './paths.js';
import { procStartTime } from './proc.js';
import { type Containment, groupAlive, killGroup, signalGroup, spawnContained } from './procgroup.js';
import type { ServiceDef } from './servicedir.js';
import { signalNumber } from './signals.js';
import { type Config, type Core, type Effect, type Event, type TimerName, step } from './state.js';
import { type Status, writeStatus } from './statusfile.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The service's environment: svrun's own, env/ applied, and what the client library reads. */
export const serviceEnv = (def: ServiceDef): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env };
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
  return env;
};

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
  private writtenPid = '';
  private statusRetry: NodeJS.Timeout | null = null;
  private exitCode: ((code: number) => void) | null = null;

  constructor(
    private readonly def: ServiceDef,
    private readonly paths: ServicePaths,
    private readonly containment: Containment,
    private readonly log: LogSink,
    private readonly supervisorId: NonNullable<Status['supervisor']>,
    core: Core,
  ) {
    this.core = core;
    this.cfg = {
      restart: def.restart,
      downSignal: def.downSignal,
      timeoutKillMs: def.timeoutKillMs,
      hasFinish: def.finish !== null,
      readyOnSpawn: def.notificationFd === null && def.check === null,
    };
    this.env = serviceEnv(def);
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
    this.persist();
  }

  /** Records an error that is svrun's own (log, status file), without a state change. */
  noteError(text: string): void {
    this.dispatch({ type: 'error', error: text, at: Date.now() });
  }

  /** Ctrl-Z: the service's processes stop with us; `fg` (SIGCONT) continues them. */
  freezeGroup(signal: 'SIGSTOP' | 'SIGCONT'): void {
    if (this.core.pgid !== null) signalGroup(this.containment, this.core.pgid, signal);
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
      log: null,
      nextStartAt: iso(c.nextStartAt),
      lastError: c.lastError,
      cgroup: this.containment.cgroup,
    };
  }

  /** Writes status.json (and supervise/pid) when they changed; a failure is logged and retried. */
  persist(): void {
    const status = this.status();
    const text = JSON.stringify(status);
    const pidText = status.pid === null ? '' : `${status.pid}\n`;
    if (text === this.written && pidText === this.writtenPid) return;
    try {
      if (pidText !== this.writtenPid) writeFileSync(this.paths.pid, pidText);
      this.writtenPid = pidText;
      writeStatus(this.paths.status, status);
      this.written = text;
    } catch (err) {
      this.log.line('svrun', `error: status: ${errorText(err)}`);
      this.core = { ...this.core, lastError: `status: ${errorText(err)}` };
      this.statusRetry ??= setTimeout(() => {
        this.statusRetry = null;
        this.persist();
      }, IO_RETRY_MS);
    }
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
        const type = fx.name === 'kill' ? 'kill-timeout' : 'backoff-done';
        this.timers.set(fx.name, setTimeout(() => this.dispatch({ type, at: now() }), fx.ms));
        return;
      }
      case 'cancel-timer':
        return this.clearTimer(fx.name);
      case 'run-finish':
        return this.runFinish(fx.code, fx.signo);
      case 'log':
        return this.log.line('svrun', fx.text);
      case 'exit':
        this.stopWatching();
        for (const name of [...this.timers.keys()]) this.clearTimer(name);
        if (this.statusRetry) clearTimeout(this.statusRetry);
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

  private stdio(): StdioOptions {
    const stdio: StdioOptions = ['ignore', 'pipe', 'pipe'];
    const nfd = this.def.notificationFd;
    if (nfd !== null) {
      while (stdio.length < nfd) stdio.push('ignore');
      stdio.push('pipe');
    }
    return stdio;
  }

  private pipeOutput(child: ChildProcess): void {
    for (const [stream, source] of [
      ['out', child.stdout],
      ['err', child.stderr],
    ] as const) {
      if (!source) continue;
      const split = new LineSplitter((text) => this.log.line(stream, text));
      source.on('data', (chunk: Buffer) => split.push(chunk));
      source.on('end', () => split.end());
      source.on('error', () => split.end());
    }
  }

  private spawnRun(): void {
    const at = Date.now();
    try {
      accessSync(this.def.run, constants.X_OK);
    } catch (err) {
      return this.dispatch({ type: 'spawn-failed', error: `run: ${errorText(err)}`, at });
    }
    let child: ChildProcess;
    try {
      child = spawnContained(this.containment, {
        file: this.def.run,
        args: this.def.instance !== null ? [this.def.instance] : [],
        cwd: this.def.dir,
        env: this.env,
        stdio: this.stdio(),
        deathSignal: this.def.downSignal,
      });
    } catch (err) {
      return this.dispatch({ type: 'spawn-failed', error: `run: ${errorText(err)}`, at });
    }
    const pid = child.pid;
    if (pid === undefined) {
      child.once('error', (err) => this.dispatch({ type: 'spawn-failed', error: `run: ${errorText(err)}`, at: Date.now() }));
      return;
    }
    this.child = child;
    this.pipeOutput(child);
    child.on('error', (err) => this.noteError(`run: ${errorText(err)}`));
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = null;
      this.dispatch({
        type: 'exited',
        code: signal ? null : code,
        signal,
        groupEmpty: !groupAlive(this.containment, pid),
        at: Date.now(),
      });
    });
    this.watchReadiness(child);
    this.dispatch({ type: 'spawned', pid, pidStart: procStartTime(pid), at });
  }

  /** s6's protocol: ready once a line arrives on the notification fd. */
  private watchReadiness(child: ChildProcess): void {
    const nfd = this.def.notificationFd;
    const pipe = nfd === null ? null : child.stdio[nfd];
    if (!pipe) return;
    let seen = '';
    pipe.on('data', (chunk: Buffer) => {
      if (seen.includes('\n')) return;
      seen += chunk.toString('latin1');
      if (seen.includes('\n') && this.child === child) this.dispatch({ type: 'ready', at: Date.now() });
    });
    pipe.on('error', () => {});
  }

  /** Polls until the service's group (or cgroup) is empty, then reports it. */
  private watchGroup(): void {
    if (this.groupPoll) return;
    let ticks = 0;
    this.groupPoll = setInterval(() => {
      const pgid = this.core.pgid;
      ticks += 1;
      // every ~0.5 s, look past zombies that nobody reaps
      if (pgid !== null && groupAlive(this.containment, pgid, ticks % 25 === 0)) return;
      this.stopWatching();
      this.dispatch({ type: 'group-empty', at: Date.now() });
    }, GROUP_POLL_MS);
  }

  private stopWatching(): void {
    if (this.groupPoll) clearInterval(this.groupPoll);
    this.groupPoll = null;
  }

  /** ./finish EXITCODE SIGNO, bounded by timeout-finish, its group killed after it. */
  private runFinish(code: number, signo: number): void {
    const done = (exit: number | null) => this.dispatch({ type: 'finish-done', code: exit, at: Date.now() });
    let child: ChildProcess;
    try {
      child = spawnContained(this.containment, {
        file: this.def.finish!,
        args: [String(code), String(signo)],
        cwd: this.def.dir,
        env: this.env,
        stdio: ['ignore', 'pipe', 'pipe'],
        deathSignal: 'SIGTERM',
      });
    } catch (err) {
      this.noteError(`finish: ${errorText(err)}`);
      return done(null);
    }
    const pid = child.pid;
    if (pid === undefined) {
      child.once('error', (err) => {
        this.noteError(`finish: ${errorText(err)}`);
        done(null);
      });
      return;
    }
    this.pipeOutput(child);
    const timer = setTimeout(() => {
      this.log.line('svrun', `error: finish: killed after ${this.def.timeoutFinishMs} ms`);
      killGroup({ cgroup: null, setpriv: null }, pid);
    }, this.def.timeoutFinishMs);
    child.on('error', () => {});
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      killGroup({ cgroup: null, setpriv: null }, pid);
      done(exitCode);
    });
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected effect ${JSON.stringify(x)}`);
}
