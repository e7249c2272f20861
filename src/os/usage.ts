// What a service's cgroup says it uses, read when asked (svrun polls nothing).
// A stand-in with the v2 files only, until the limits work brings v1 too.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupDirs } from './cgroup.js';

export type Usage = { memoryBytes: number | null; cpuSeconds: number | null; pids: number | null; oomKills: number | null };

const readSmall = (file: string): string | null => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
};

/** `key value` lines (cpu.stat, memory.events): the number after `key`, or null. */
const keyed = (text: string | null, key: string): number | null => {
  const m = text === null ? null : new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
};

const whole = (text: string | null): number | null => (text !== null && /^\d+\n?$/.test(text) ? Number(text) : null);

/** Null where the service has no cgroup (or it is gone); each field null where its file is missing. */
export const readUsage = (dirs: CgroupDirs): Usage | null => {
  const v2 = dirs.v2;
  if (v2 === null || readSmall(join(v2, 'cgroup.procs')) === null) return null;
  const usec = keyed(readSmall(join(v2, 'cpu.stat')), 'usage_usec');
  return {
    memoryBytes: whole(readSmall(join(v2, 'memory.current'))),
    cpuSeconds: usec === null ? null : usec / 1e6,
    pids: whole(readSmall(join(v2, 'pids.current'))),
    oomKills: keyed(readSmall(join(v2, 'memory.events')), 'oom_kill'),
  };
};
