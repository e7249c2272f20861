// What /proc says about a process: its start time (with the pid, an
// unambiguous name for it), its group, whether it is still alive.
import { readFileSync, readdirSync } from 'node:fs';

export interface ProcStat {
  state: string;
  ppid: number;
  pgid: number;
  sid: number;
  /** Field 22: start time in clock ticks since boot. */
  start: number;
}

export const procStat = (pid: number): ProcStat | null => {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // comm (field 2) may hold spaces and parentheses: fields resume after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const num = (field: number) => Number(rest[field - 3]);
  return { state: rest[0] ?? '?', ppid: num(4), pgid: num(5), sid: num(6), start: num(22) };
};

export const procStartTime = (pid: number): number | null => procStat(pid)?.start ?? null;

/** Alive (not a zombie) and, when `start` is given, the same process that started then. */
export const isAlive = (pid: number, start?: number | null): boolean => {
  const st = procStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return false;
  return start == null || st.start === start;
};

/** Live (non-zombie) members of process group `pgid`, by a scan of /proc. */
export const groupMembers = (pgid: number): number[] => {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const st = procStat(pid);
    if (st && st.pgid === pgid && st.state !== 'Z' && st.state !== 'X') members.push(pid);
  }
  return members;
};

/** One cheap syscall: does any process (zombies included) still belong to the group? */
export const groupExists = (pgid: number): boolean => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** When this machine booted (ms since the epoch): state older than that is from another boot. */
export const bootTimeMs = (): number => {
  try {
    const m = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'latin1'));
    return m ? Number(m[1]) * 1000 : 0;
  } catch {
    return 0;
  }
};

/** Every live descendant of `root` (children, their children...), by a scan of /proc. */
export const descendantsOf = (root: number): number[] => {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const st = procStat(pid);
    if (!st || st.state === 'Z' || st.state === 'X') continue;
    const list = children.get(st.ppid) ?? [];
    list.push(pid);
    children.set(st.ppid, list);
  }
  const found: number[] = [];
  const queue = [root];
  for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
    for (const c of children.get(p) ?? []) {
      found.push(c);
      queue.push(c);
    }
  }
  return found;
};
