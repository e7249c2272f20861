// svctl boot: the container init (docs/boot.md). It validates the
// scan directory, becomes the reaper of every orphan (PID 1, or a child
// subreaper), brings services up in dependency order with their output on
// its stdout, runs CMD, and on a stop signal or CMD's exit shuts down in
// reverse order within --shutdown-timeout, then SIGKILLs whatever is left.
import { type ChildProcess, spawn } from 'node:child_process';
import { writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EXIT_FAILED, EXIT_OK, GROUP_POLL_MS, KILL_WAIT_MS } from '../../defaults.js';
import { errorText, oneLine, SvError } from '../../errors.js';
import { closure } from '../../graph.js';
import { descendantsOf, isAlive, procStartTime } from '../../os/proc.js';
import { becomeSubreaper, type Reaper, startReaper } from '../../os/reaper.js';
import { stdoutWhere } from '../../os/stdoutwhere.js';
import type { Scan } from '../../scan.js';
import { type Ctx, loadScan, type Streams } from '../context.js';
import type { LaunchOptions } from '../engine/launch.js';
import { createPlanned, prepareWithInstances } from '../engine/instances.js';
import { defaultLockWaitMs, lockScanDir } from '../engine/scanlock.js';
import { exitStatus } from '../../signals.js';
import { bringDown } from '../engine/bringdown.js';
import { readStopPlan, stopWarnings } from '../engine/stopplan.js';
import { type Respawner, startRespawner } from './respawn.js';
import { readScanQuietly, watchScanDir } from './scanwatch.js';
import { type BootStdout, startBootStdout } from '../../log/bootstdout.js';
import { bringUp, type UpWant } from '../engine/bringup.js';
import { observe } from '../engine/observe.js';
import { type Notify, systemdNotifier } from './notify.js';

export interface BootOptions {
  shutdownTimeoutMs: number;
  /** One svrun hosts the supervisors of each bring-up (--host, SVKIT_HOST=1). */
  host: boolean;
  /** CMD and its arguments; empty: run until signalled. */
  cmd: string[];
}

/**
 * boot's own lines go straight to fd 2: process.stderr would make a shared
 * pipe non-blocking for everyone who writes to it (the container's CMD too).
 */
const toFd2 = (text: string): void => {
  try {
    writeSync(2, text);
  } catch {
    /* nowhere to say it */
  }
};
const say = (line: string): void => toFd2(`svctl: ${oneLine(line)}\n`);
/** For the context of the commands boot runs: everything they print goes to fd 2 the same way. */
export const fd2Streams: Streams = { stdout: toFd2, stderr: toFd2 };

/** `p`, or nothing after `ms`: the timer does not outlive the wait (it would keep the process alive). */
const within = async (p: Promise<unknown>, ms: number): Promise<void> => {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((r) => (timer = setTimeout(r, Math.max(0, ms))))]);
  clearTimeout(timer);
};

/** Signals boot passes on to CMD (docs/boot.md); the stop signals are its own. */
export const FORWARDED_SIGNALS = ['SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const;

/** boot's exit code: CMD's when it ran and ended, else why boot shut down (0 on a signal, 1 when a service failed to come up). */
export const bootExitCode = (cmdCode: number | null, shutdownCode: number): number => cmdCode ?? shutdownCode;

/**
 * svctl boot [-- CMD...]: validate (exit 2, nothing started), then become
 * init, bring everything up, run CMD, watch the scan directory; resolves
 * with the exit code once shut down.
 */
export const boot = async (ctx: Ctx, o: BootOptions): Promise<number> => {
  // every service without a down file, and the instances they require (created under the lock)
  const prepared = prepareWithInstances(loadScan(ctx, true), []);
  // before any supervisor is started: none may inherit systemd's socket (notify.ts)
  const notify = systemdNotifier(process.env, say);
  const init = new Init(prepared.scan, o, notify);
  const problems = await init.bringUp(prepared.names);
  if (problems.length > 0) {
    for (const p of problems) say(p);
    init.shutdown(EXIT_FAILED);
  } else if (!init.shuttingDown) {
    notify(`READY=1\nSTATUS=${prepared.names.length} services up`);
    init.runCmd();
    init.watch();
  }
  return init.exited;
};

/** The container init's state and its jobs; one per boot. */
class Init {
  scan: Scan;
  shuttingDown = false;
  /** Bring-ups under way: a supervisor they start is theirs to watch, not the respawner's. */
  private bringingUp = 0;
  /** The last bring-up: the way down waits for it (bounded by timeout-ready). */
  private upDone: Promise<unknown> = Promise.resolve();
  /** Service folder -> its svrun (pid and start time), for a folder that vanishes. */
  private readonly supervisors = new Map<string, { pid: number; start: number | null }>();
  private readonly reaper: Reaper;
  private readonly respawner: Respawner;
  private readonly launch: LaunchOptions;
  /** Where supervisors that svctl starts meanwhile write (the recorded setting and its FIFO), or null; made while services come up. */
  private readonly stdout: Promise<BootStdout | null>;
  private cmd: ChildProcess | null = null;
  private cmdCode: number | null = null;
  private watcher: Promise<{ close(): Promise<void> }> | null = null;
  private finished: (code: number) => void = () => {};
  /** Resolves with the exit code once everything is shut down. */
  readonly exited = new Promise<number>((resolve) => (this.finished = resolve));

  /** Sets up as init: the reaper of every orphan, the respawner of dead supervisors, shutdown on a stop signal. */
  constructor(
    scan: Scan,
    private readonly o: BootOptions,
    private readonly notify: Notify = () => {},
  ) {
    this.scan = scan;
    if (!becomeSubreaper()) say('boot: cannot become a child subreaper: orphans of services will not be reaped by svctl');
    this.reaper = startReaper();
    const width = Math.max(0, ...[...scan.services.keys()].map((n) => n.length));
    // `svctl restart` and `up` inside the container log to our stdout too (src/log/bootstdout.ts)
    // the same colours and the same place for them (svctl logs says where: stdoutwhere.ts)
    this.stdout = startBootStdout(scan.dir, width, say, { color: isatty(1) && !process.env.NO_COLOR, where: stdoutWhere() });
    // supervisors that die without being asked are started again (docs/boot.md)
    ({ respawner: this.respawner, launch: this.launch } = startRespawner({
      scanDir: scan.dir,
      launch: {
        args: ['--log', 'stdout', '--log-width', String(width)],
        stdout: 'inherit',
        host: o.host,
        // a host's services leave it when their folder goes (src/supervisor/foldergone.ts): only a lone svrun is signalled
        onSpawn: (pid, dirs) => {
          if (dirs.length === 1) this.supervisors.set(dirs[0]!, { pid, start: procStartTime(pid) });
        },
      },
      say,
      paused: () => this.shuttingDown || this.bringingUp > 0,
    }));
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => this.stopSignal(sig));
    // a handler of our own also keeps Node's defaults away: SIGUSR1 would open its inspector, SIGUSR2 would end boot
    for (const sig of FORWARDED_SIGNALS) process.on(sig, () => this.forward(sig));
  }

  /** A stop signal: said once, with how many services it stops, then the shutdown. */
  private stopSignal(sig: NodeJS.Signals): void {
    if (this.shuttingDown) return;
    const running = supervisedCount(this.scan.dir);
    say(`boot: ${sig}: stopping ${running} service${running === 1 ? '' : 's'}${this.cmd && this.cmd.exitCode === null ? ' and CMD' : ''}`);
    this.shutdown(EXIT_OK);
  }

  /** A signal meant for the main program goes to CMD while it runs (as tini does); without one, boot has no use for it. */
  private forward(sig: NodeJS.Signals): void {
    const cmd = this.cmd;
    // until Node has seen it exit, CMD's pid is its own (at worst an unreaped zombie): the signal cannot hit another process
    if (cmd && cmd.exitCode === null && cmd.signalCode === null) cmd.kill(sig);
    // a resize of boot's terminal is nothing to report
    else if (sig !== 'SIGWINCH') say(`boot: ${sig} ignored: no CMD running (\`svctl signal ${sig.slice(3)} NAME\` sends it to a service)`);
  }

  /** Brings `names` and what they require up, under the scan lock; missing instances are created first. */
  bringUp(names: readonly string[]): Promise<string[]> {
    const scan = this.scan;
    const up = this.counted(() =>
      this.locked(Date.now() + defaultLockWaitMs(scan), async () => {
        const made = createPlanned(scan, closure(scan.graph, names));
        if (!made.ok) return made.problems;
        this.scan = made.scan;
        const problems = await bringUp(made.scan, upTargets(names, made.scan), null, this.launch);
        await this.stdout; // in place before the lock is released: the next svctl under it logs to our stdout
        return problems;
      }),
    );
    this.upDone = up;
    return up;
  }

  /** Runs CMD with boot's stdio; its end shuts everything down with its exit code. */
  runCmd(): void {
    const argv = this.o.cmd;
    if (argv.length === 0) return;
    const cmd = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
    this.cmd = cmd;
    cmd.once('error', (err) => {
      say(`boot: ${argv[0]}: ${errorText(err)}`);
      this.cmdCode = 127;
      this.shutdown(127);
    });
    cmd.once('exit', (code, signal) => {
      this.cmdCode = exitStatus(code, signal);
      this.shutdown(this.cmdCode);
    });
  }

  /** Service folders added to the scan directory are brought up; a removed one's supervisor is told to stop. */
  watch(): void {
    this.watcher = watchScanDir(
      this.scan.dir,
      new Set(this.scan.entries.map((e) => e.name)),
      { added: (name) => this.added(name), removed: (name) => this.removed(name) },
      say,
    );
  }

  private added(name: string): void {
    if (this.shuttingDown) return;
    const s = readScanQuietly(this.scan.dir);
    if (!s) return;
    // the new folder's own problems, by the folder they are about (never by matching their text)
    const mine = s.problems.get(name) ?? [];
    if (mine.length > 0) return void mine.forEach(say);
    const def = s.services.get(name);
    if (!def || def.down) return;
    this.scan = s;
    this.upDone = this.counted(() =>
      this.locked(Date.now() + defaultLockWaitMs(s), () => bringUp(s, upTargets([name], s), null, this.launch)),
    ).then((p) => p.forEach(say));
  }

  private removed(name: string): void {
    // its supervise/ went with the folder: the supervisor is told by signal, and stops the service
    const dir = join(this.scan.dir, name);
    const sv = this.supervisors.get(dir);
    this.supervisors.delete(dir);
    // only if it is still that svrun (svctl remove may have ended it, and its pid been reused)
    if (!sv || !isAlive(sv.pid, sv.start)) return;
    try {
      process.kill(sv.pid, 'SIGTERM');
    } catch {
      /* gone already */
    }
  }

  /**
   * Once: CMD first (it is what the services are there for), then every
   * service in reverse order, all within --shutdown-timeout; then SIGKILL
   * for whatever is left, and `exited` resolves.
   */
  shutdown(code: number): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.notify('STOPPING=1');
    this.respawner.stop();
    void (async () => {
      const deadline = Date.now() + this.o.shutdownTimeoutMs;
      await (await this.watcher)?.close();
      await this.stopCmd(deadline);
      await this.upDone; // a bring-up under way finishes (bounded by timeout-ready) before the way down starts
      for (const p of await this.bringDownAll(deadline)) say(p);
      await killEverything();
      await (await this.stdout)?.close();
      this.reaper.stop();
      this.finished(bootExitCode(this.cmdCode, code));
    })();
  }

  private async stopCmd(deadline: number): Promise<void> {
    const child = this.cmd;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await within(exited, deadline - Date.now());
  }

  private bringDownAll(deadline: number): Promise<string[]> {
    // every folder, valid or not: a running supervisor holds the settings it started with
    const current = readScanQuietly(this.scan.dir) ?? this.scan;
    return this.locked(deadline, async () => {
      const plan = readStopPlan(current);
      for (const w of stopWarnings(current, plan, plan.targets.keys())) say(w);
      return bringDown(plan, plan.targets.keys(), deadline);
    });
  }

  /** `p`, counted as a bring-up while it runs. */
  private async counted<T>(p: () => Promise<T>): Promise<T> {
    this.bringingUp += 1;
    try {
      return await p();
    } finally {
      this.bringingUp -= 1;
      this.respawner.poke();
    }
  }

  /**
   * Holds the scan lock around `fn` (changes by other svctl calls in the
   * container wait, and vice versa); boot goes on without it when it cannot
   * be had in time or at all: init must not stop at a lock.
   */
  private async locked<T>(deadline: number, fn: () => Promise<T>): Promise<T> {
    const lock = await lockScanDir(this.scan.dir, deadline, false).catch((err: unknown) => {
      if (err instanceof SvError) return null;
      throw err;
    });
    try {
      return await fn();
    } finally {
      if (lock?.ok) await lock.release();
    }
  }
}

/** Each of `names` and everything it requires, wanted up. */
const upTargets = (names: Iterable<string>, s: Scan): Map<string, UpWant> =>
  new Map([...closure(s.graph, names)].map((n) => [n, 'up' as const]));

/** How many services of the scan directory a supervisor runs now. */
const supervisedCount = (dir: string): number =>
  (readScanQuietly(dir)?.entries ?? []).filter((e) => !e.template && observe(e.name, e.dir).supervised).length;

/**
 * Past the shutdown deadline (or after it): nothing of ours may survive us.
 * Killed again on every look: a process may fork between one look and its
 * kill (a task reaper whose svrun just died forks one stopper per service).
 */
const killEverything = async (): Promise<void> => {
  const until = Date.now() + KILL_WAIT_MS;
  for (let left = descendantsOf(process.pid); left.length > 0 && Date.now() < until; left = descendantsOf(process.pid)) {
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await sleep(GROUP_POLL_MS);
  }
};
