// What the bench reads from /proc, and the register of every process it
// started (pid plus start time, so a recycled pid is never signalled).
import { readdirSync, readFileSync } from 'node:fs';

const read = (file: string): string | null => {
  try {
    return readFileSync(file, 'latin1');
  } catch {
    return null;
  }
};

/** The fields of /proc/PID/stat after the command name: [0] is the state, [19] the start time. */
const statFields = (pid: number): string[] | null => {
  const s = read(`/proc/${pid}/stat`);
  return s ? s.slice(s.lastIndexOf(')') + 2).split(' ') : null;
};

export const startTime = (pid: number): number | null => {
  const f = statFields(pid);
  return f ? Number(f[19]) : null;
};

/** Exists and is not a zombie (a reparented supervisor may wait a while for init to reap it). */
export const alive = (pid: number): boolean => {
  const f = statFields(pid);
  return f !== null && f[0] !== 'Z' && f[0] !== 'X';
};

/** Does a process of this group still run (zombies aside)? */
export const groupAlive = (pgid: number): boolean =>
  readdirSync('/proc').some((e) => {
    if (!/^\d+$/.test(e)) return false;
    const f = statFields(Number(e));
    return f !== null && Number(f[2]) === pgid && f[0] !== 'Z';
  });

/** argv joined with spaces, '' when gone. */
export const cmdline = (pid: number): string => (read(`/proc/${pid}/cmdline`) ?? '').replace(/\0$/, '').split('\0').join(' ');

/** Direct children, from every thread (a Node process forks from its main thread, but look at all). */
export const children = (pid: number): number[] => {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tasks.flatMap((t) => (read(`/proc/${pid}/task/${t}/children`) ?? '').split(' ').filter(Boolean).map(Number));
};

export const descendants = (pid: number): number[] => {
  const out: number[] = [];
  const todo = [pid];
  while (todo.length) {
    for (const c of children(todo.pop()!)) {
      out.push(c);
      todo.push(c);
    }
  }
  return out;
};

/** Proportional set size: shared pages divided among the processes that share them. */
export const pssKiB = (pid: number): number => Number(/^Pss:\s+(\d+) kB/m.exec(read(`/proc/${pid}/smaps_rollup`) ?? '')?.[1] ?? NaN);

/** Unique set size: the pages no other process shares (Private_Clean + Private_Dirty), unlike PSS independent of what else runs. */
export const ussKiB = (pid: number): number => {
  const r = read(`/proc/${pid}/smaps_rollup`) ?? '';
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(r)?.[1] ?? NaN);
  return field('Private_Clean') + field('Private_Dirty');
};

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** CPU time (user + system, every thread) in ms. */
export const cpuMs = (pid: number): number => {
  const f = statFields(pid);
  return f ? (Number(f[11]) + Number(f[12])) * TICK_MS : NaN;
};

/** Context switches of every thread: each voluntary one is a wake-up after the thread slept. */
export const contextSwitches = (pid: number): { voluntary: number; involuntary: number } => {
  let voluntary = 0;
  let involuntary = 0;
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return { voluntary: NaN, involuntary: NaN };
  }
  for (const t of tasks) {
    const s = read(`/proc/${pid}/task/${t}/status`) ?? '';
    voluntary += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(s)?.[1] ?? 0);
    involuntary += Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(s)?.[1] ?? 0);
  }
  return { voluntary, involuntary };
};

/**
 * Every process the bench started or found below one it started. Cleanup
 * SIGKILLs those still alive with the start time they had when recorded.
 */
export class Owned {
  private readonly procs = new Map<number, number>();

  add(...pids: (number | null | undefined)[]): void {
    for (const pid of pids) {
      if (!pid || this.procs.has(pid)) continue;
      const start = startTime(pid);
      if (start !== null) this.procs.set(pid, start);
    }
  }

  /** The process and everything below it now. */
  addTree(pid: number | null | undefined): void {
    if (!pid) return;
    this.add(pid, ...descendants(pid));
  }

  /** Recorded processes still alive (same pid, same start time). */
  living(): number[] {
    return [...this.procs].filter(([pid, start]) => alive(pid) && startTime(pid) === start).map(([pid]) => pid);
  }

  /** True once none is alive; cheap to poll (forgets each one found gone, stops at the first alive). */
  allGone(): boolean {
    for (const [pid, start] of this.procs) {
      if (alive(pid) && startTime(pid) === start) return false;
      this.procs.delete(pid);
    }
    return true;
  }

  killAll(): void {
    for (const pid of this.living()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    this.procs.clear();
  }
}
