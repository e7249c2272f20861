// Measures with nothing to compare against: what svkit's own guarantees cost
// (no lost log line, nothing left behind when svrun itself is SIGKILLed).
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { cpuMs, descendants, groupAlive, type Owned, pssKiB } from './proc.js';
import { exec, RUN_ARGV, SVCTL, SVRUN, sleep, svkit, svrunHost, until, writeService } from './peers.js';

/**
 * Each measure runs in both modes: `hosted` puts the measured service in one
 * svrun with an idle neighbour (svrun DIR OTHER), or runs svctl with --host.
 */
const neighbour = (dir: string): string => writeService(`${dir}-neighbour`);
const supervise = (dir: string, hosted: boolean) => (hosted ? svrunHost([dir, neighbour(dir)]) : svkit.superviseOne(dir));
const hostFlag = (hosted: boolean) => (hosted ? ['--host'] : []);

const statusOf = (dir: string): { state?: string; pid?: number; cgroup?: string | null; supervisor?: { pid: number } | null } | null => {
  try {
    return JSON.parse(readFileSync(join(dir, 'supervise/status.json'), 'utf8'));
  } catch {
    return null;
  }
};

/** Does `file` end with `text` (read from its tail only)? */
const endsWith = (file: string, text: string): boolean => {
  try {
    const fd = openSync(file, 'r');
    const tail = Buffer.alloc(text.length);
    const n = readSync(fd, tail, 0, tail.length, Math.max(0, fstatSync(fd).size - tail.length));
    closeSync(fd);
    return tail.subarray(0, n).toString('latin1') === text;
  } catch {
    return false;
  }
};

export interface LogFigures {
  linesPerSecond: number;
  lost: number;
  svrunCpuMsPerMillion: number;
}

/** A service prints `lines` short lines (seq) as fast as it can; time from svrun's start until the last one is in the file. */
export const logThroughput = async (
  base: string,
  mode: 'builtin' | 'subservice',
  lines: number,
  owned: Owned,
  hosted: boolean,
): Promise<LogFigures> => {
  const d = writeService(join(base, `flood-${mode}${hosted ? '-hosted' : ''}`), `seq 1 ${lines}; exec sleep 1000`);
  mkdirSync(join(d, 'log'));
  let file: string;
  let re: RegExp;
  if (mode === 'builtin') {
    writeFileSync(join(d, 'log/config'), 'size 1099511627776\nkeep 1\n'); // no rotation: every line in one file
    file = join(d, 'log/current');
    re = / out \d+$/;
  } else {
    writeService(join(d, 'log'), 'exec cat > lines.txt');
    file = join(d, 'log/lines.txt');
    re = /^\d+$/;
  }
  const t0 = performance.now();
  const sv = supervise(d, hosted);
  owned.add(sv.pid);
  await until(() => endsWith(file, `${lines}\n`), 'the last log line', 300_000); // one writer, in order: the last line means all
  const ms = performance.now() - t0;
  const cpu = cpuMs(sv.pid!); // start-up included
  owned.addTree(sv.pid);
  const got = readFileSync(file, 'latin1')
    .split('\n')
    .filter((l) => re.test(l)).length;
  sv.kill('SIGTERM');
  await until(() => sv.exitCode !== null || sv.signalCode !== null, 'svrun to exit');
  return { linesPerSecond: (lines / ms) * 1000, lost: lines - got, svrunCpuMsPerMillion: (cpu * 1_000_000) / lines };
};

/**
 * SIGKILL of svrun itself: how long until nothing of its services runs (their
 * task reapers' work). Each service and a background grandchild stop on TERM;
 * hosted, three services in the svrun killed.
 */
export const svrunKilled = async (dir: string, cgroup: boolean, owned: Owned, hosted: boolean): Promise<number> => {
  const dirs = hosted ? [0, 1, 2].map((i) => `${dir}-${i}`) : [dir];
  for (const d of dirs) writeService(d, 'sleep 1000 & exec sleep 1000');
  const env = { ...process.env, ...(cgroup ? {} : { SVKIT_NO_CGROUP: '1' }) };
  const c = spawn(process.execPath, [SVRUN, ...dirs], { stdio: 'ignore', env });
  owned.add(c.pid);
  const sts = await Promise.all(
    dirs.map(async (d) => {
      const st = await until(() => {
        const s = statusOf(d);
        return s?.state === 'up' && s.pid ? s : null;
      }, 'svrun up');
      await until(() => existsSync(join(d, 'supervise/reaper')), 'the task reaper');
      return st;
    }),
  );
  await sleep(50); // past the wrappers: the grandchildren run
  owned.addTree(c.pid);
  const t0 = performance.now();
  c.kill('SIGKILL');
  const gone = (st: (typeof sts)[number]) => {
    const events = st.cgroup ? join(st.cgroup, 'cgroup.events') : null;
    return events ? !/^populated 1$/m.test(readFileSync(events, 'utf8')) : !groupAlive(st.pid!);
  };
  await until(() => sts.every(gone), 'the services gone', 30_000);
  return performance.now() - t0;
};

// The wall-time bounds the tests no longer assert (docs/decisions.md, Tests):
// each is "at once, not the timeout it must not wait out".

const svctl = (scan: string, ...args: string[]) => [process.execPath, SVCTL, '-d', scan, ...args];
const timedExec = async (argv: string[], owned: Owned): Promise<number> => {
  const t0 = performance.now();
  await exec(argv, owned);
  return performance.now() - t0;
};
const setting = (dir: string, name: string, value: string) => writeFileSync(join(dir, name), `${value}\n`);
/** Has the process an inotify descriptor yet (fs.watch set up: it is waiting on events, not starting)? */
const watching = (pid: number): boolean => {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === 'anon_inode:inotify';
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
};

/** SIGTERM to svrun while its service floods the built-in log, until svrun exited (was: < 3 s). */
export const floodStop = async (dir: string, owned: Owned, hosted: boolean): Promise<number> => {
  writeService(dir, 'exec yes');
  const sv = supervise(dir, hosted);
  owned.add(sv.pid);
  await until(() => statusOf(dir)?.state === 'up', 'the flood up', 60_000);
  owned.addTree(sv.pid);
  await sleep(300); // flooding now
  const t0 = performance.now();
  sv.kill('SIGTERM');
  await until(() => sv.exitCode !== null || sv.signalCode !== null, 'svrun to exit', 30_000);
  return performance.now() - t0;
};

/** `svctl wait up`, already watching, from the moment status.json says up to its exit (was: < 2 s). */
export const waitUp = async (scan: string, owned: Owned, hosted: boolean): Promise<number> => {
  const dir = writeService(join(scan, 'w'));
  const waiter = spawn(process.execPath, [SVCTL, '-d', scan, 'wait', 'up', 'w', '-t', '60000'], { stdio: 'ignore' });
  owned.add(waiter.pid);
  await until(() => watching(waiter.pid!), 'svctl wait to watch', 60_000);
  const sv = supervise(dir, hosted);
  owned.add(sv.pid);
  const upAt = await until(() => statusOf(dir)?.state === 'up' && performance.now(), 'the service up', 60_000);
  await until(() => waiter.exitCode !== null, 'svctl wait to return', 60_000);
  const ms = performance.now() - upAt;
  owned.addTree(sv.pid);
  sv.kill('SIGTERM');
  await until(() => sv.exitCode !== null || sv.signalCode !== null, 'svrun to exit', 30_000);
  return ms;
};

/** `svctl up` of a service that fails for good (exit 3, restart never), until it reported it (was: < 6 s; timeout-ready 10 s). */
export const upFailed = async (scan: string, owned: Owned, hosted: boolean): Promise<number> => {
  const dir = writeService(join(scan, 'f'), 'echo "cannot open config" >&2; exit 3');
  setting(dir, 'notification-fd', '3');
  setting(dir, 'restart', 'never');
  const ms = await timedExec(svctl(scan, 'up', ...hostFlag(hosted)), owned);
  owned.addTree(statusOf(dir)?.supervisor?.pid);
  await exec(svctl(scan, 'down'), owned);
  return ms;
};

/** `svctl up -t 500` of a service that never gets ready, until it gave up (was: < 5 s; timeout-ready 20 s). */
export const upGivesUp = async (scan: string, owned: Owned, hosted: boolean): Promise<number> => {
  const dir = writeService(join(scan, 'never'));
  setting(dir, 'notification-fd', '3');
  setting(dir, 'timeout-ready', '20000');
  const ms = await timedExec(svctl(scan, 'up', '-t', '500', ...hostFlag(hosted)), owned);
  owned.addTree(statusOf(dir)?.supervisor?.pid);
  await exec(svctl(scan, 'down'), owned);
  return ms;
};

/** `svctl up` where svrun exits at once (supervise/ is a file), until it showed svrun's error (was: < 5 s; timeout-ready 20 s). */
export const upSvrunExits = async (scan: string, owned: Owned, hosted: boolean): Promise<number> => {
  const dir = writeService(join(scan, 'web'));
  setting(dir, 'timeout-ready', '20000');
  writeFileSync(join(dir, 'supervise'), 'in the way\n');
  return timedExec(svctl(scan, 'up', ...hostFlag(hosted)), owned);
};

/** `svctl boot --shutdown-timeout 1500` with a service that ignores TERM: SIGTERM to boot until it exited (was: < 6 s; at least 1.5 s). */
export const bootShutdown = async (scan: string, owned: Owned, hosted: boolean): Promise<number> => {
  const dir = writeService(join(scan, 'stuck'), `trap '' TERM; exec ${RUN_ARGV}`);
  setting(dir, 'timeout-kill', '60000');
  const boot = spawn(process.execPath, [SVCTL, '-d', scan, 'boot', '--shutdown-timeout', '1500', ...hostFlag(hosted)], { stdio: 'ignore' });
  owned.add(boot.pid);
  await until(() => statusOf(dir)?.state === 'up', 'boot to bring stuck up', 60_000);
  owned.addTree(boot.pid);
  const t0 = performance.now();
  boot.kill('SIGTERM');
  await until(() => boot.exitCode !== null || boot.signalCode !== null, 'boot to exit', 90_000);
  return performance.now() - t0;
};

/**
 * A container's footprint: `svctl boot` with three services, 2 s after all
 * are up: the PSS (MiB) of boot and every process below it but the services'
 * own (their runs: RUN_ARGV), i.e. boot, the supervisors and task reapers.
 */
export const containerFootprint = async (scan: string, owned: Owned, hosted: boolean, settleMs: number): Promise<number> => {
  const dirs = ['a', 'b', 'c'].map((n) => writeService(join(scan, n)));
  const boot = spawn(process.execPath, [SVCTL, '-d', scan, 'boot', ...hostFlag(hosted)], { stdio: 'ignore' });
  owned.add(boot.pid);
  await until(() => dirs.every((d) => statusOf(d)?.state === 'up'), 'boot to bring a, b, c up', 60_000);
  await sleep(settleMs);
  owned.addTree(boot.pid);
  const services = new Set(dirs.map((d) => statusOf(d)?.pid));
  const kib = [boot.pid!, ...descendants(boot.pid!)].filter((p) => !services.has(p)).reduce((sum, p) => sum + (pssKiB(p) || 0), 0);
  boot.kill('SIGTERM');
  await until(() => boot.exitCode !== null || boot.signalCode !== null, 'boot to exit', 60_000);
  return kib / 1024;
};
