// The supervisors measured side by side: svkit, and runit and s6 where
// installed. Each gets the same service folders (`run` execs RUN_ARGV) and
// is driven through its own tools, as its users would.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { children, cmdline, type Owned } from './proc.js';
import { setTimeout as delay } from 'node:timers/promises';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SVRUN = join(ROOT, 'dist/cmd/svrun.cjs');
export const SVCTL = join(ROOT, 'dist/cmd/svctl.js');

/** What every measured service runs (exec'd, so the run process ends up with exactly this argv): a year of sleep. */
export const RUN_ARGV = 'sleep 31536000';

export const writeService = (dir: string, body = `exec ${RUN_ARGV}`): string => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'run'), `#!/bin/sh\n${body}\n`);
  chmodSync(join(dir, 'run'), 0o755);
  return dir;
};

/** Services s0..s{n-1} in a fresh scan directory. */
export const writeScan = (scan: string, n: number): string[] => {
  const names = Array.from({ length: n }, (_, i) => `s${i}`);
  for (const name of names) writeService(join(scan, name));
  return names;
};

export const sleep = (ms: number): Promise<void> => delay(ms);

/** Polls fn every millisecond (the timer's resolution) until it is truthy. */
export const until = async <T>(fn: () => T | null | undefined | false, what: string, ms = 15_000): Promise<T> => {
  const end = performance.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (performance.now() > end) throw new Error(`bench: timed out after ${ms} ms waiting for ${what}`);
    await sleep(1);
  }
};

/** Runs a command to its end; resolves with the exit code. */
export const exec = (argv: readonly string[], owned?: Owned): Promise<number | null> =>
  new Promise((res, rej) => {
    const c = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
    owned?.add(c.pid);
    c.once('error', rej);
    c.once('exit', (code) => res(code));
  });

const installed = (...tools: string[]): boolean =>
  spawnSync('sh', ['-c', `command -v ${tools.join(' ')}`], { stdio: 'ignore' }).status === 0;

/** The child of a supervisor that is the exec'd run, if any. */
const runChild = (supervisor: number): number | null => children(supervisor).find((c) => cmdline(c) === RUN_ARGV) ?? null;

export interface Peer {
  /** svkit one svrun per service, svkit hosted (`host`), runit, s6. */
  readonly name: 'svkit' | 'host' | 'runit' | 's6';
  /** The per-service supervisor: svrun, runsv, s6-supervise. */
  readonly supervisor: string;
  readonly available: boolean;
  /** Stopping all also ends the supervisors (svctl down) or only the services (sv down, s6-svc -d). */
  readonly downEndsSupervisors: boolean;
  /** One supervisor on one folder, started directly (svrun DIR, runsv DIR, s6-supervise DIR). */
  superviseOne(dir: string): ChildProcess;
  /** The service's exec'd run, as its supervisor shows it (svkit: the pid status.json names, once that is the run). */
  runPid(supervisor: number, dir: string): number | null;
  /** Brings every service of scan up the peer's way; resolves once each one's run is exec'd, with their supervisors' pids. */
  upAll(scan: string, names: readonly string[], owned: Owned): Promise<number[]>;
  /** The peer's command to stop every service; resolves when that command returned. */
  downAll(scan: string, names: readonly string[], owned: Owned): Promise<void>;
  /** Ends all that upAll started, the peer's way (the caller SIGKILLs what is left after). */
  teardown(scan: string): Promise<void>;
  /** What supervision needs besides the supervisors, while upAll's services run: svkit's task reapers, runit's and s6's scanner. */
  helpers(scan: string, names: readonly string[]): number[];
  /** One status call for one service, and one readiness check of them all. */
  statusArgv(scan: string, name: string): string[];
  checkArgv(scan: string, names: readonly string[]): string[];
}

interface StatusJson {
  state?: string;
  pid?: number | null;
  supervisor?: { pid: number } | null;
  cgroup?: string | null;
}
const readStatus = (dir: string): StatusJson | null => {
  try {
    return JSON.parse(readFileSync(join(dir, 'supervise/status.json'), 'utf8')) as StatusJson;
  } catch {
    return null;
  }
};

const svkitCgroups = new Set<string>();

/** The service's run as status.json names it, once it is the exec'd run. */
export const svkitRun = (dir: string): number | null => {
  const s = readStatus(dir);
  if (s?.cgroup) svkitCgroups.add(s.cgroup);
  return s?.state === 'up' && s.pid && cmdline(s.pid) === RUN_ARGV ? s.pid : null;
};

/** One svrun hosting every folder of `dirs` (`svrun DIR DIR...`). */
export const svrunHost = (dirs: readonly string[]): ChildProcess => spawn(process.execPath, [SVRUN, ...dirs], { stdio: 'ignore' });

/** svkit in either mode: one svrun per service, or (`hosted`) one svrun for all, as `svctl up --host` makes it. */
const svkitPeer = (hosted: boolean): Peer => ({
  name: hosted ? 'host' : 'svkit',
  supervisor: 'svrun',
  available: true,
  downEndsSupervisors: true,
  superviseOne: (dir) => spawn(process.execPath, [SVRUN, dir], { stdio: 'ignore' }),
  runPid: (_supervisor, dir) => svkitRun(dir),
  upAll: async (scan, names, owned) => {
    const code = await exec([process.execPath, SVCTL, '-d', scan, 'up', ...(hosted ? ['--host'] : [])], owned);
    if (code !== 0) throw new Error(`bench: svctl up exited ${code}`);
    return names.map((n) => {
      const dir = join(scan, n);
      const sup = readStatus(dir)?.supervisor?.pid;
      if (!sup || !svkitRun(dir)) throw new Error(`bench: ${n} not up after svctl up`);
      owned.addTree(sup);
      return sup;
    });
  },
  downAll: async (scan, _names, owned) => {
    const code = await exec([process.execPath, SVCTL, '-d', scan, 'down'], owned);
    if (code !== 0) throw new Error(`bench: svctl down exited ${code}`);
  },
  teardown: async (scan) => {
    await exec([process.execPath, SVCTL, '-d', scan, 'down']);
  },
  helpers: (scan, names) => names.map((n) => taskReaper(join(scan, n))).filter((p): p is number => p !== null),
  statusArgv: (scan, name) => [process.execPath, SVCTL, '-d', scan, 'status', name],
  checkArgv: (scan) => [process.execPath, SVCTL, '-d', scan, 'check'],
});

/** The task reaper supervise/reaper records for a service folder, or null. */
export const taskReaper = (dir: string): number | null => {
  try {
    return Number(readFileSync(join(dir, 'supervise/reaper'), 'utf8').split(' ')[0]) || null;
  } catch {
    return null;
  }
};

export const svkit = svkitPeer(false);
export const svkitHost = svkitPeer(true);

/** The cgroups svrun made that a SIGKILL at cleanup may have left (empty ones only go). */
export const removeSvkitCgroups = (): void => {
  for (const cg of svkitCgroups) {
    try {
      rmdirSync(cg);
    } catch {
      // gone, or not empty: not ours to force
    }
  }
};

/** runit and s6 differ only in their tools' names and signals; the rest is this. */
const daemontools = (p: {
  name: 'runit' | 's6';
  supervisor: string;
  scanner: string;
  tools: string[];
  downArgv: (dirs: string[]) => string[];
  stopScanSignal: NodeJS.Signals;
  statusArgv: (dir: string) => string[];
  checkArgv: (dirs: string[]) => string[];
}): Peer => {
  const roots = new Map<string, ChildProcess>();
  const dirs = (scan: string, names: readonly string[]) => names.map((n) => join(scan, n));
  const supervisors = (root: number) => children(root).filter((c) => cmdline(c).startsWith(`${p.supervisor} `));
  return {
    name: p.name,
    supervisor: p.supervisor,
    available: installed(p.scanner, p.supervisor, ...p.tools),
    downEndsSupervisors: false,
    superviseOne: (dir) => spawn(p.supervisor, [dir], { stdio: 'ignore' }),
    runPid: (supervisor) => runChild(supervisor),
    upAll: async (scan, names, owned) => {
      const root = spawn(p.scanner, [scan], { stdio: 'ignore' });
      roots.set(scan, root);
      owned.add(root.pid);
      const sups = await until(() => {
        const s = supervisors(root.pid!);
        return s.length === names.length && s.every((x) => runChild(x) !== null) && s;
      }, `${names.length} ${p.name} services up`);
      owned.addTree(root.pid);
      return sups;
    },
    downAll: async (scan, names, owned) => {
      await exec(p.downArgv(dirs(scan, names)), owned);
    },
    teardown: async (scan) => {
      const root = roots.get(scan);
      roots.delete(scan);
      if (!root?.pid || root.exitCode !== null) return;
      const sups = supervisors(root.pid);
      root.kill(p.stopScanSignal); // runsvdir: HUP = TERM to each runsv; s6-svscan: TERM = down all, exit
      await until(() => root.exitCode !== null || root.signalCode !== null, `${p.scanner} to exit`, 5_000).catch(() => {});
      await until(() => sups.every((s) => cmdline(s) === ''), `${p.supervisor}s to exit`, 5_000).catch(() => {});
    },
    helpers: (scan) => {
      const root = roots.get(scan)?.pid;
      return root ? [root] : [];
    },
    statusArgv: (scan, name) => p.statusArgv(join(scan, name)),
    checkArgv: (scan, names) => p.checkArgv(dirs(scan, names)),
  };
};

export const runit = daemontools({
  name: 'runit',
  supervisor: 'runsv',
  scanner: 'runsvdir',
  tools: ['sv'],
  downArgv: (d) => ['sv', 'down', ...d],
  stopScanSignal: 'SIGHUP',
  statusArgv: (d) => ['sv', 'status', d],
  checkArgv: (d) => ['sv', 'check', ...d],
});

export const s6 = daemontools({
  name: 's6',
  supervisor: 's6-supervise',
  scanner: 's6-svscan',
  tools: ['s6-svc', 's6-svstat', 's6-svwait'],
  // s6-svc takes one service directory: a shell loop, as a user would write it
  downArgv: (d) => ['sh', '-c', 'for d; do s6-svc -d "$d"; done', 'sh', ...d],
  stopScanSignal: 'SIGTERM',
  statusArgv: (d) => ['s6-svstat', d],
  // s6 has no "check all": waiting for all up returns at once when they are
  checkArgv: (d) => ['s6-svwait', '-u', '-a', '-t', '1000', ...d],
});

export const PEERS: readonly Peer[] = [svkit, svkitHost, runit, s6];
