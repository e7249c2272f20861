// svctl boot: the container init (SPEC.md "svctl boot"). It validates the
// scan directory, becomes the reaper of every orphan (PID 1, or a child
// subreaper), brings services up in dependency order with their output on
// its stdout, runs CMD, and on a stop signal or CMD's exit shuts down in
// reverse order within --shutdown-timeout, then SIGKILLs whatever is left.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { EXIT_FAILED, EXIT_OK } from '../defaults.js';
import { errorText, oneLine } from '../errors.js';
import { closure } from '../graph.js';
import { descendantsOf, isAlive, procStartTime } from '../os/proc.js';
import { becomeSubreaper, startReaper } from '../os/reaper.js';
import { readScan, type Scan } from '../scan.js';
import { makeCtx } from './context.js';
import { createPlanned, prepareWithInstances } from './instances.js';
import { lockScanDir } from './scanlock.js';
import { exitStatus } from '../signals.js';
import { defaultLockWaitMs } from './change.js';
import { bringDown } from './down.js';
import { stopPlan, stopWarnings } from './stopplan.js';
import { startRespawner } from './respawn.js';
import { bringUp, type UpWant } from './up.js';

export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;
/** A folder added to the scan directory is read once it has been quiet this long (its files are being written). */
const SETTLE_MS = 500;
/** After the final SIGKILL, how long to wait for the processes to be gone. */
const KILL_WAIT_MS = 2_000;

export interface BootOptions {
  scanDir: string;
  shutdownTimeoutMs: number;
  /** CMD and its arguments; empty: run until signalled. */
  cmd: string[];
}

/**
 * boot's own lines go straight to fd 2: process.stderr would make a shared
 * pipe non-blocking for everyone who writes to it (the container's CMD too).
 */
const say = (line: string): void => {
  try {
    writeSync(2, `svctl: ${oneLine(line)}\n`);
  } catch {
    /* nowhere to say it */
  }
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `p`, or nothing after `ms`: the timer does not outlive the wait (it would keep the process alive). */
const within = async (p: Promise<unknown>, ms: number): Promise<void> => {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((r) => (timer = setTimeout(r, Math.max(0, ms))))]);
  clearTimeout(timer);
};

export const boot = async (o: BootOptions): Promise<number> => {
  // every service without a down file, and the instances they require (created under the lock)
  const prepared = prepareWithInstances(makeCtx({ dir: o.scanDir }, { out: say, err: say }), []);
  if (typeof prepared === 'number') return prepared;
  let scan = prepared.scan;

  if (!becomeSubreaper()) say('boot: cannot become a child subreaper: orphans of services will not be reaped by svctl');
  const reaper = startReaper();

  const supervisors = new Map<string, { pid: number; start: number | null }>(); // service folder -> its svrun
  const width = Math.max(0, ...[...scan.services.keys()].map((n) => n.length));
  let shuttingDown = false;
  /** Bring-ups under way: a supervisor they start is theirs to watch, not the respawner's. */
  let bringingUp = 0;
  // supervisors that die without being asked are started again (SPEC.md "svctl boot", 7)
  const { respawner, launch } = startRespawner({
    scanDir: scan.dir,
    launch: {
      args: ['--log', 'stdout', '--log-width', String(width)],
      stdout: 'inherit',
      onSpawn: (pid, dir) => supervisors.set(dir, { pid, start: procStartTime(pid) }),
    },
    say,
    paused: () => shuttingDown || bringingUp > 0,
  });
  /** `p`, counted as a bring-up while it runs. */
  const bringingUpWhile = async <T>(p: () => Promise<T>): Promise<T> => {
    bringingUp += 1;
    try {
      return await p();
    } finally {
      bringingUp -= 1;
      respawner.poke();
    }
  };

  let finished: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (finished = resolve));
  let cmd: ChildProcess | null = null;
  let cmdCode: number | null = null;
  let watcher: Promise<{ close(): Promise<void> }> | null = null;
  let upDone: Promise<unknown> = Promise.resolve();

  /** Holds the scan lock around `fn` (changes by other svctl calls in the container wait, and vice versa). */
  const locked = async <T>(deadline: number, fn: () => Promise<T>): Promise<T> => {
    const lock = await lockScanDir(scan.dir, deadline, false);
    try {
      return await fn();
    } finally {
      if (lock.ok) await lock.release();
    }
  };

  const shutdown = (code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    respawner.stop();
    void (async () => {
      const deadline = Date.now() + o.shutdownTimeoutMs;
      await (await watcher)?.close();
      // CMD first: it is what the services are there for
      if (cmd && cmd.exitCode === null && cmd.signalCode === null) {
        const child = cmd;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await within(exited, deadline - Date.now());
      }
      await upDone; // a bring-up under way finishes (bounded by timeout-ready) before the way down starts
      // every folder, valid or not: a running supervisor holds the settings it started with
      const current = readScanQuietly(scan.dir) ?? scan;
      const problems = await locked(deadline, async () => {
        const plan = stopPlan(current);
        for (const w of stopWarnings(current, plan, plan.targets.keys())) say(w);
        return bringDown(plan, plan.targets.keys(), deadline);
      });
      for (const p of problems) say(p);
      await killEverything();
      reaper.stop();
      finished(cmdCode ?? code);
    })();
  };

  /** Past the shutdown deadline (or after it): nothing of ours may survive us. */
  const killEverything = async () => {
    const left = () => descendantsOf(process.pid);
    if (left().length === 0) return;
    for (const pid of left()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    const until = Date.now() + KILL_WAIT_MS;
    while (left().length > 0 && Date.now() < until) await sleep(20);
  };

  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => shutdown(EXIT_OK));

  const targets = (names: Iterable<string>, s: Scan): Map<string, UpWant> => new Map([...closure(s.graph, names)].map((n) => [n, 'up' as const]));
  const up = bringingUpWhile(() =>
    locked(Date.now() + defaultLockWaitMs(scan), async () => {
      const made = createPlanned(scan, closure(scan.graph, prepared.names));
      if ('problems' in made) return made.problems;
      scan = made.scan;
      return bringUp(scan, targets(prepared.names, scan), null, launch);
    }),
  );
  upDone = up;
  const problems = await up;
  if (problems.length > 0) {
    for (const p of problems) say(p);
    shutdown(EXIT_FAILED);
    return done;
  }
  if (shuttingDown) return done;

  if (o.cmd.length > 0) {
    cmd = spawn(o.cmd[0]!, o.cmd.slice(1), { stdio: 'inherit' });
    cmd.once('error', (err) => {
      say(`boot: ${o.cmd[0]}: ${errorText(err)}`);
      cmdCode = 127;
      shutdown(127);
    });
    cmd.once('exit', (code, signal) => {
      cmdCode = exitStatus(code, signal);
      shutdown(cmdCode);
    });
  }

  watcher = watchScanDir(scan.dir, new Set(scan.entries.map((e) => e.name)), {
    added: (name) => {
      if (shuttingDown) return;
      const s = readScanQuietly(scan.dir);
      if (!s) return;
      const mine = s.errors.filter((e) => e.startsWith(`${name}/`) || e.startsWith(`${name}:`) || e.includes(`"${name}"`));
      if (mine.length > 0) return void mine.forEach(say);
      const def = s.services.get(name);
      if (!def || def.down) return;
      scan = s;
      upDone = bringingUpWhile(() => locked(Date.now() + defaultLockWaitMs(s), () => bringUp(s, targets([name], s), null, launch))).then((p) =>
        p.forEach(say),
      );
    },
    removed: (name) => {
      // its supervise/ went with the folder: the supervisor is told by signal, and stops the service
      const dir = join(scan.dir, name);
      const sv = supervisors.get(dir);
      supervisors.delete(dir);
      // only if it is still that svrun (svctl remove may have ended it, and its pid been reused)
      if (!sv || !isAlive(sv.pid, sv.start)) return;
      try {
        process.kill(sv.pid, 'SIGTERM');
      } catch {
        /* gone already */
      }
    },
  });
  return done;
};

const readScanQuietly = (dir: string): Scan | null => {
  try {
    return readScan(dir);
  } catch {
    return null;
  }
};

/** Service folders appearing in or vanishing from the scan directory (chokidar, loaded only here). */
const watchScanDir = async (
  dir: string,
  /** The folders already handled: any other found once the watch is set up was added meanwhile. */
  seen: ReadonlySet<string>,
  on: { added: (name: string) => void; removed: (name: string) => void },
): Promise<{ close(): Promise<void> }> => {
  const { watch } = await import('chokidar');
  const pending = new Map<string, NodeJS.Timeout>();
  // a new folder is read once its files have stopped changing for SETTLE_MS
  const settle = (name: string) => {
    clearTimeout(pending.get(name));
    pending.set(
      name,
      setTimeout(() => {
        pending.delete(name);
        if (existsSync(join(dir, name))) on.added(name);
      }, SETTLE_MS),
    );
  };
  const top = (path: string): string | null => {
    const rel = path.slice(dir.length + 1);
    const name = rel.split('/')[0] ?? '';
    return name === '' || name.startsWith('.') ? null : name;
  };
  const w = watch(dir, {
    ignoreInitial: true,
    depth: 1,
    // the supervisors' own files change all the time: not a new service
    ignored: (path: string) => /\/(supervise|log)(\/|$)/.test(path.slice(dir.length)),
  });
  const known = new Set<string>();
  w.on('addDir', (path) => {
    const name = top(path);
    if (name && path === join(dir, name)) {
      known.add(name);
      settle(name);
    } else if (name && known.has(name)) settle(name);
  });
  w.on('add', (path) => {
    const name = top(path);
    if (name && known.has(name)) settle(name);
  });
  w.on('unlinkDir', (path) => {
    const name = top(path);
    if (name && path === join(dir, name)) {
      known.delete(name);
      clearTimeout(pending.get(name));
      on.removed(basename(path));
    }
  });
  await new Promise<void>((resolve) => w.once('ready', () => resolve()));
  for (const name of readScanQuietly(dir)?.entries.map((e) => e.name) ?? []) {
    if (!seen.has(name)) {
      known.add(name);
      settle(name);
    }
  }
  return {
    close: async () => {
      for (const t of pending.values()) clearTimeout(t);
      await w.close();
    },
  };
};
