// Measures with nothing to compare against: what svkit's own guarantees cost
// (no lost log line, nothing left behind when svrun itself is SIGKILLed).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuMs, groupAlive, type Owned } from './proc.js';
import { SVRUN, sleep, svkit, until, writeService } from './peers.js';

const statusOf = (dir: string): { state?: string; pid?: number; cgroup?: string | null } | null => {
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
export const logThroughput = async (base: string, mode: 'builtin' | 'subservice', lines: number, owned: Owned): Promise<LogFigures> => {
  const d = writeService(join(base, `flood-${mode}`), `seq 1 ${lines}; exec sleep 1000`);
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
  const sv = svkit.superviseOne(d);
  owned.add(sv.pid);
  await until(() => endsWith(file, `${lines}\n`), 'the last log line', 300_000); // one writer, in order: the last line means all
  const ms = performance.now() - t0;
  const cpu = cpuMs(sv.pid!); // start-up included
  owned.addTree(sv.pid);
  const got = readFileSync(file, 'latin1').split('\n').filter((l) => re.test(l)).length;
  sv.kill('SIGTERM');
  await until(() => sv.exitCode !== null || sv.signalCode !== null, 'svrun to exit');
  return { linesPerSecond: (lines / ms) * 1000, lost: lines - got, svrunCpuMsPerMillion: (cpu * 1_000_000) / lines };
};

/**
 * SIGKILL of svrun itself: how long until nothing of its service runs (its
 * task reaper's work). The service and a background grandchild stop on TERM.
 */
export const svrunKilled = async (dir: string, cgroup: boolean, owned: Owned): Promise<number> => {
  writeService(dir, 'sleep 1000 & exec sleep 1000');
  const env = { ...process.env, ...(cgroup ? {} : { SVKIT_NO_CGROUP: '1' }) };
  const c = spawn(process.execPath, [SVRUN, dir], { stdio: 'ignore', env });
  owned.add(c.pid);
  const st = await until(() => {
    const s = statusOf(dir);
    return s?.state === 'up' && s.pid ? s : null;
  }, 'svrun up');
  await until(() => existsSync(join(dir, 'supervise/reaper')), 'the task reaper');
  await sleep(50); // past the wrappers: the grandchild runs
  owned.addTree(c.pid);
  const pgid = st.pid!;
  const t0 = performance.now();
  c.kill('SIGKILL');
  const events = st.cgroup ? join(st.cgroup, 'cgroup.events') : null;
  await until(() => (events ? !/^populated 1$/m.test(readFileSync(events, 'utf8')) : !groupAlive(pgid)), 'the service gone', 30_000);
  return performance.now() - t0;
};
