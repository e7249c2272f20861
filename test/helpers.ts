// Shared test helpers: a temp folder per test, service folders from small
// bash bodies, the built svrun/svctl as real processes, waiting for events
// with a deadline (never a fixed sleep), and cleanup of every process the
// test started, found by a token in its environment and killed by pid.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  closeSync,
  copyFileSync,
  cpSync,
  existsSync,
  type FSWatcher,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  rmSync,
  statSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe } from 'vitest';
import { writeFifo } from '../src/os/fifo.js';
import { cgroupDirs, removeCgroupDirs } from '../src/os/cgroup.js';
import { isAlive as procIsAlive, procStat } from '../src/os/proc.js';
import { readStatus, type Status } from '../src/supervise/status.js';
import { findReaper } from '../src/supervise/reaper.js';
import { serviceId } from '../src/os/serviceid.js';
import { exitStatus } from '../src/signals.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SVRUN = join(ROOT, 'dist/cmd/svrun.cjs');
export const SVCTL = join(ROOT, 'dist/cmd/svctl.js');

/** A status.json as src/supervise/status.ts reads it, with the fields svkit added since (health, limits...) open to tests. */
export type StatusJson = Status & { [key: string]: unknown };

/**
 * How often a wait looks at /proc or at files when nothing announces a change:
 * no faster (every poll of /proc reads a file per process on a busy 2-core machine).
 */
export const POLL_MS = 50;

/**
 * The default deadline of a wait: what a loaded 2-core machine may need to
 * start node and svrun (a wait returns as soon as its event comes, so only a
 * failing test waits this long).
 */
export const DEADLINE_MS = 10_000;

/** Polls `fn` until it returns a truthy value; throws with `what` after `ms`. */
export const waitFor = async <T>(
  fn: () => T | Promise<T>,
  what: string | (() => string),
  ms = DEADLINE_MS,
  every = POLL_MS,
): Promise<NonNullable<T>> => {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) {
      const text = typeof what === 'function' ? what() : what;
      throw new Error(`timed out after ${ms} ms waiting for ${text} (last: ${String(last)})`);
    }
    await sleep(every);
  }
};

/**
 * Like waitFor, but `fn` is tried again as soon as something changes in one
 * of the folders `dirs` (fs.watch; a folder that appears later is watched from
 * the next try on), and every `every` ms besides: for what no file event
 * announces (/proc, the clock) and as the fallback where a watch fails.
 * Changes are taken together: at most one try per 10 ms.
 */
export const waitOnFolders = <T>(
  dirs: string[],
  fn: () => T,
  what: string | (() => string),
  ms = DEADLINE_MS,
  every = 100,
): Promise<NonNullable<T>> =>
  new Promise((resolve, reject) => {
    const end = Date.now() + ms;
    const watchers = new Map<string, FSWatcher>();
    let last: unknown;
    let done = false;
    let poll: NodeJS.Timeout | undefined;
    let soon: NodeJS.Timeout | undefined;
    const finish = (err: Error | null, v?: NonNullable<T>) => {
      done = true;
      clearTimeout(poll);
      clearTimeout(soon);
      for (const w of watchers.values()) w.close();
      if (err) reject(err);
      else resolve(v!);
    };
    const changed = () => {
      soon ??= setTimeout(() => {
        soon = undefined;
        attempt();
      }, 10);
    };
    const watchNew = () => {
      for (const d of dirs) {
        if (watchers.has(d)) continue;
        try {
          const w = watch(d, { persistent: false }, changed);
          w.on('error', () => w.close()); // the poll goes on
          watchers.set(d, w);
        } catch {
          /* not there yet: tried again at the next try */
        }
      }
    };
    /** One try: watch what appeared (before reading, so no change is missed), then `fn`. */
    const attempt = (): boolean => {
      if (done) return true;
      watchNew();
      try {
        const v = fn();
        if (v) {
          finish(null, v as NonNullable<T>);
          return true;
        }
        last = v;
      } catch (err) {
        last = err;
      }
      return false;
    };
    const tick = () => {
      if (attempt()) return;
      if (Date.now() > end) {
        const text = typeof what === 'function' ? what() : what;
        finish(new Error(`timed out after ${ms} ms waiting for ${text} (last: ${String(last)})`));
      } else poll = setTimeout(tick, Math.min(every, Math.max(1, end - Date.now() + 1)));
    };
    tick();
  });

// /proc is read by the code under test (src/os/proc.ts); the helpers only wait on it
export { procStat };

/** src/os/proc.ts's isAlive, for the pids tests hold (null or undefined before they know one). */
export const isAlive = (pid: number | null | undefined): boolean => !!pid && procIsAlive(pid);

const allPids = (): number[] =>
  readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number);

/** Where argvOf reads a command line (a longer one is read again whole). */
const cmdline = Buffer.alloc(4096);

/** The argv of a live process, or null: one read into a buffer kept (this runs for every process at every poll). */
const argvOf = (pid: number): string[] | null => {
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/cmdline`, 'r');
  } catch {
    return null;
  }
  try {
    const n = readSync(fd, cmdline, 0, cmdline.length, 0);
    const text = n < cmdline.length ? cmdline.toString('utf8', 0, n) : readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return text.split('\0').slice(0, -1);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
};

/** Live pids whose argv[0] is exactly `path` (see Sandbox.marker). */
export const pidsByArgv0 = (path: string): number[] => allPids().filter((pid) => argvOf(pid)?.[0] === path && isAlive(pid));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class Sandbox {
  readonly dir: string;
  readonly scan: string;
  readonly token = `svtest${randomBytes(6).toString('hex')}`;
  private readonly children: ChildProcess[] = [];
  private readonly mounts: string[] = [];
  /** Whether a process may carry this sandbox's token (its environment was handed out): cleanup then looks in /proc. */
  private tokenHandedOut = false;
  /** svctl starts hosted supervisors (SVKIT_HOST=1 in what this sandbox runs): see inBothModes. */
  hosted = false;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'svkit-test-'));
    this.scan = join(this.dir, 'services');
    mkdirSync(join(this.dir, 'bin'));
    mkdirSync(this.scan);
  }

  get env(): NodeJS.ProcessEnv {
    this.tokenHandedOut = true;
    const env: NodeJS.ProcessEnv = { ...process.env, SVKIT_TEST_TOKEN: this.token, SVDIR: this.scan };
    delete env.SVKIT_STATE_DIR;
    delete env.SVKIT_HOST;
    if (this.hosted) env.SVKIT_HOST = '1';
    return env;
  }

  /** A private copy of `sleep` whose argv[0] names this test and `name`: count it in /proc. */
  marker(name: string, tool = 'sleep'): string {
    const path = join(this.dir, 'bin', `${tool}.${name}`);
    if (!existsSync(path)) copyFileSync(`/bin/${tool}`, path);
    return path;
  }

  /** A service folder with a bash `run`; `files` adds settings ('#!' bodies become executables). */
  service(name: string, run: string, files: Record<string, string> = {}): string {
    const dir = join(this.scan, name);
    mkdirSync(dir, { recursive: true });
    this.write(dir, 'run', `#!/bin/bash\n${run}\n`);
    for (const [file, body] of Object.entries(files)) this.write(dir, file, body);
    return dir;
  }

  write(dir: string, file: string, body: string): void {
    const path = join(dir, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, body === '' || body.startsWith('#!') || body.endsWith('\n') ? body : `${body}\n`);
    if (body.startsWith('#!')) chmodSync(path, 0o755);
  }

  /** Starts the built svrun in the background (output kept in the child's buffers). */
  svrun(args: string[], opts: { stdio?: 'pipe' | 'ignore' } = {}): ChildProcess & { output: () => string } {
    const child = spawn(process.execPath, [SVRUN, ...args], { env: this.env, stdio: ['ignore', opts.stdio ?? 'pipe', 'pipe'] });
    this.children.push(child);
    let out = '';
    child.stdout?.on('data', (d) => (out += d));
    child.stderr?.on('data', (d) => (out += d));
    return Object.assign(child, { output: () => out });
  }

  /** Runs a command to completion; output to files, so detached supervisors never hold our pipes. */
  async exec(cmd: string, args: string[], timeoutMs = 30_000): Promise<Run> {
    const id = randomBytes(4).toString('hex');
    const out = join(this.dir, `.out.${id}`);
    const err = join(this.dir, `.err.${id}`);
    const { openSync, closeSync } = await import('node:fs');
    const fo = openSync(out, 'w');
    const fe = openSync(err, 'w');
    const child = spawn(cmd, args, { env: this.env, stdio: ['ignore', fo, fe], cwd: this.dir });
    closeSync(fo);
    closeSync(fe);
    const code = await new Promise<number | null>((res) => {
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('exit', (c, s) => {
        clearTimeout(t);
        res(s ? 128 : c);
      });
    });
    return { code, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
  }

  svrunSync(args: string[]): Promise<Run> {
    return this.exec(process.execPath, [SVRUN, ...args]);
  }

  svctl(args: string[], timeoutMs?: number): Promise<Run> {
    return this.exec(process.execPath, [SVCTL, ...args], timeoutMs);
  }

  /** A file in this test's own folder. */
  path(name: string): string {
    return join(this.dir, name);
  }

  /** The non-empty lines of a file in this test's folder ([] while it does not exist). */
  lines(name: string): string[] {
    const f = this.path(name);
    return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];
  }

  statusPath(name: string): string {
    return join(this.scan, name, 'supervise', 'status.json');
  }

  /** `name`'s status.json read by src/supervise/status.ts; null while it is missing or corrupt. */
  status(name: string): StatusJson | null {
    const r = readStatus(this.statusPath(name));
    return r.kind === 'ok' ? (r.status as StatusJson) : null;
  }

  /** The folders whose changes a wait on service `name` watches: supervise/ and log/, and the service folder (until they exist). */
  private folders(name: string, sub: 'supervise' | 'log'): string[] {
    return [join(this.scan, name, sub), join(this.scan, name)];
  }

  /** Waits until `name`'s status.json satisfies `pred`; returns that status. */
  waitStatus(name: string, pred: (s: StatusJson) => boolean, what: string, ms = DEADLINE_MS): Promise<StatusJson> {
    return waitOnFolders(
      this.folders(name, 'supervise'),
      () => {
        const s = this.status(name);
        return s && pred(s) ? s : null;
      },
      () => `${name}: ${what} (status: ${JSON.stringify(this.status(name))})`,
      ms,
    );
  }

  /** Waits until the service's status names a pid that has exec'd the marker `m` (run's setup is done). */
  async waitRunning(name: string, m: string, ms = DEADLINE_MS): Promise<StatusJson> {
    // the exec itself changes no file: /proc of that one pid is polled besides
    return waitOnFolders(
      this.folders(name, 'supervise'),
      () => {
        const s = this.status(name);
        return s?.state === 'up' && s.pid !== null && argvOf(s.pid)?.[0] === m && isAlive(s.pid) ? s : null;
      },
      () => `${name} running ${m} (status: ${JSON.stringify(this.status(name))})`,
      ms,
      POLL_MS,
    );
  }

  /** Waits for a line of log/current to match `re`. */
  waitLog(name: string, re: RegExp, ms = DEADLINE_MS): Promise<string> {
    return waitOnFolders(
      this.folders(name, 'log'),
      () => (re.test(this.log(name)) ? this.log(name) : null),
      () => `${name} log to match ${re}: ${this.log(name)}`,
      ms,
    );
  }

  log(name: string): string {
    try {
      return readFileSync(join(this.scan, name, 'log', 'current'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Every live process carrying this sandbox's token (cmdline or environment). */
  tokenPids(): number[] {
    return allPids().filter((pid) => {
      if (pid === process.pid) return false;
      for (const f of ['environ', 'cmdline']) {
        try {
          if (readFileSync(`/proc/${pid}/${f}`, 'latin1').includes(this.token)) return isAlive(pid);
        } catch {
          /* gone */
        }
      }
      return false;
    });
  }

  /** SIGKILLs every process this test started, by pid, until none is left; removes the folder. */
  async cleanup(): Promise<void> {
    for (const c of this.children) if (c.exitCode === null && c.pid) this.tryKill(c.pid);
    if (this.tokenHandedOut) {
      await waitFor(
        () => {
          const left = this.tokenPids();
          for (const pid of left) this.tryKill(pid);
          return left.length === 0;
        },
        'test processes to die',
        10_000,
      );
    }
    this.unmountAll();
    this.removeCgroups();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Mounts a tmpfs of `size` (mount's syntax: 256k, 16m) at `path` (created),
   * unmounted by cleanup once this test's processes are gone. Returns null, or
   * why the mount was refused (not root, no mount namespace rights...).
   */
  mountTmpfs(path: string, size: string): string | null {
    mkdirSync(path, { recursive: true });
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'svkit-test', path], { encoding: 'utf8' });
    if (r.status !== 0) return `mount -t tmpfs refused: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`;
    this.mounts.push(path);
    return null;
  }

  private unmountAll(): void {
    for (const path of this.mounts.splice(0).reverse()) {
      // lazy as a last resort: a mount must never outlive the test that made it
      if (spawnSync('umount', [path]).status !== 0) spawnSync('umount', ['-l', path]);
    }
  }

  /** The cgroups of this test's services (a SIGKILLed svrun cannot remove its own). */
  private removeCgroups(): void {
    const entries = existsSync(this.scan) ? readdirSync(this.scan) : [];
    for (const name of entries) {
      for (const [cg, folder] of [
        [name, join(this.scan, name)],
        [`${name}/log`, join(this.scan, name, 'log')],
      ] as const) {
        removeCgroupDirs(cgroupDirs(cg, folder)); // v2, and v1 ones on a hybrid host
      }
    }
  }

  private tryKill(pid: number): void {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/**
 * A fresh Sandbox before each test, and every process it started killed
 * after it:  `let sb!: Sandbox; withSandbox((s) => (sb = s));`
 */
export const withSandbox = (use: (sb: Sandbox) => void): void => {
  let current: Sandbox | null = null;
  beforeEach(() => {
    current = new Sandbox();
    use(current);
  });
  afterEach(async () => {
    await current?.cleanup();
    current = null;
  });
};

/** The two ways svctl starts supervisors: one svrun per service, and hosted (`--host`, SVKIT_HOST=1). */
export const SVCTL_MODES = [
  { mode: 'one svrun per service', hosted: false },
  { mode: 'hosted, SVKIT_HOST=1', hosted: true },
] as const;

/**
 * The tests `body` declares, once in each of SVCTL_MODES (the sandbox's
 * svctl calls get SVKIT_HOST=1 in the second): `inBothModes(() => sb, (hosted) => { ... })`.
 */
export const inBothModes = (sandbox: () => Sandbox, body: (hosted: boolean) => void): void =>
  describe.each(SVCTL_MODES)('$mode', ({ hosted }) => {
    beforeEach(() => {
      sandbox().hosted = hosted;
    });
    body(hosted);
  });

/** Writes runit letters (several at once, or junk) into the control FIFO of the service folder `dir` (src/os/fifo.ts); throws when no supervisor reads them. */
export const control = (dir: string, letters: string): void => {
  if (writeFifo(join(dir, 'supervise', 'control'), letters) !== 'written') throw new Error(`${dir}: not supervised`);
};

/** Resolves with the exit code (or 128+signal) of a child. */
export const exitOf = (child: ChildProcess): Promise<number> =>
  child.exitCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((res) => child.once('exit', (code, sig) => res(exitStatus(code, sig))));

/**
 * Ctrl-C pressed as a person does, again and again, until `child` exits; its exit code.
 * (Two signals sent at once would merge into one pending signal.)
 */
export const pressCtrlCUntilExit = (child: ChildProcess): Promise<number> => {
  const presses = setInterval(() => child.kill('SIGINT'), 50);
  return exitOf(child).finally(() => clearInterval(presses));
};

/** svctl in the background (output to files, like Sandbox.exec): its process, to signal it, what it printed so far, and its result. */
export const startSvctl = (
  sb: Sandbox,
  args: string[],
): { child: ChildProcess; stdout: () => string; stderr: () => string; done: Promise<Run> } => {
  const id = randomBytes(4).toString('hex');
  const out = join(sb.dir, `.bg-out.${id}`);
  const err = join(sb.dir, `.bg-err.${id}`);
  const fo = openSync(out, 'w');
  const fe = openSync(err, 'w');
  const child = spawn(process.execPath, [SVCTL, ...args], { env: sb.env, stdio: ['ignore', fo, fe], cwd: sb.dir });
  closeSync(fo);
  closeSync(fe);
  // the files may be gone already when a failed test's cleanup killed the process
  const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
  const done = new Promise<Run>((res) => child.on('exit', (c, s) => res({ code: exitStatus(c, s), stdout: read(out), stderr: read(err) })));
  return { child, stdout: () => read(out), stderr: () => read(err), done };
};

/**
 * The built programs copied into this test's folder (dist/cmd/, package.json
 * and koffi, laid out as in the checkout, world-readable), for a test that
 * runs them as another user: the checkout may sit where that user cannot
 * enter (a clone under /root). The folders on the way must be searchable by
 * that user too (sb.dir is 0700 until the test opens it).
 */
export const builtCopy = (sb: Sandbox): { svctl: string; svrun: string } => {
  const root = sb.path('svkit');
  cpSync(join(ROOT, 'dist', 'cmd'), join(root, 'dist', 'cmd'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(root, 'package.json'));
  cpSync(join(ROOT, 'node_modules', 'koffi'), join(root, 'node_modules', 'koffi'), { recursive: true, dereference: true });
  // readable (and searchable) by all, whatever the umask of the checkout
  for (const p of [root, ...(readdirSync(root, { recursive: true }) as string[]).map((f) => join(root, f))]) {
    const st = statSync(p);
    chmodSync(p, st.isDirectory() || st.mode & 0o100 ? 0o755 : 0o644);
  }
  return { svctl: join(root, 'dist', 'cmd', 'svctl.js'), svrun: join(root, 'dist', 'cmd', 'svrun.cjs') };
};

/** Live svrun processes supervising the folder `dir` (argv: node svrun.cjs [options] DIR..., a host among them). */
export const svrunPids = (dir: string): number[] =>
  allPids().filter((pid) => {
    const argv = argvOf(pid)?.filter(Boolean);
    return argv?.[1] === SVRUN && argv.slice(2).includes(dir) && isAlive(pid);
  });

/**
 * The standby svrun `sup` keeps for the next run (src/supervisor/standby.ts):
 * its child whose last wrapper waits for the trigger line; of the service in
 * folder `dir` (its working directory) when svrun hosts several.
 */
export const standbyPid = (sup: number, dir?: string): number | null => {
  for (const pid of allPids()) {
    if (procStat(pid)?.ppid !== sup || !isAlive(pid)) continue;
    const argv = argvOf(pid);
    if (argv?.[0] !== '/bin/sh' || argv[1] !== '-c' || !/^read -r _ <&\d /.test(argv[2] ?? '')) continue;
    try {
      if (dir === undefined || readlinkSync(`/proc/${pid}/cwd`) === dir) return pid;
    } catch {
      /* gone */
    }
  }
  return null;
};

/** The task reaper svrun started for the service folder `dir`, as src/supervisor/taskreaper.ts finds it, or null. */
export const taskReaperPid = (dir: string): number | null => findReaper(join(dir, 'supervise'), serviceId(basename(dir), dir))?.pid ?? null;

// ---- the fault suite (test/fault): soak switch, figures, /proc measurements ----

/** `npm run soak` sets SVKIT_SOAK=1: the fault scenarios' long versions run (minutes each). */
export const SOAK = process.env.SVKIT_SOAK === '1';

/** The quick count in `npm test`, the long one under SVKIT_SOAK=1. */
export const quickOrSoak = <T>(quick: T, soak: T): T => (SOAK ? soak : quick);

/**
 * A scenario's measured figures: one `[figures] NAME {json}` line on stdout,
 * `figures-NAME.json` in the test's folder, and a JSON line appended to
 * $SVKIT_FIGURES when set (how `npm run soak` collects them for the docs).
 */
export const reportFigures = (sb: Sandbox, name: string, figures: Record<string, unknown>): void => {
  const record = { scenario: name, soak: SOAK, at: new Date().toISOString(), ...figures };
  const json = JSON.stringify(record);
  console.log(`[figures] ${name} ${json}`);
  writeFileSync(sb.path(`figures-${name}.json`), `${json}\n`);
  if (process.env.SVKIT_FIGURES) appendFileSync(process.env.SVKIT_FIGURES, `${json}\n`);
};

/** Clock ticks per second of /proc/PID/stat's times (USER_HZ: 100 on every Linux this runs on). */
const USER_HZ = 100;

/** CPU time (user + system) a live process has used so far, in ms; null once it is gone. */
export const cpuMs = (pid: number): number | null => {
  try {
    const t = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = t.slice(t.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / USER_HZ;
  } catch {
    return null;
  }
};

/** How many descriptors a process has open; null once it is gone. */
export const fdCount = (pid: number): number | null => {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
};

/** Resident memory of a process in KiB (VmRSS); null once it is gone. */
export const rssKiB = (pid: number): number | null => {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
};

/** Calls `fn` every `ms` until stopped (a sampler running beside a scenario); errors end the test, not the process. */
export const every = (ms: number, fn: () => void): { stop: () => void } => {
  const t = setInterval(fn, ms);
  return { stop: () => clearInterval(t) };
};

/** A TCP port on 127.0.0.1 that nobody listened on a moment ago (for a test's own servers). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
