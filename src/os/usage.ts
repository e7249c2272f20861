// What a service costs, read from its cgroups when asked (svctl status,
// svctl metrics; svrun reads the OOM count around each run). Small kernel
// files, each read bounded; a file that is missing or unreadable is null.
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupDirs } from './cgroup.js';

export type Usage = { memoryBytes: number | null; cpuSeconds: number | null; pids: number | null; oomKills: number | null };

/** The cgroup files read here are a few lines; nothing past this is read. */
const MAX_READ = 4096;

const readSmall = (file: string): string | null => {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const buf = Buffer.alloc(MAX_READ);
    const n = readSync(fd, buf, 0, MAX_READ, null);
    return buf.toString('utf8', 0, n);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
};

const wholeNumber = (text: string | null): number | null => {
  const v = text?.trim();
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : null;
};

/** The value of `key` in a flat-keyed file (`key value` lines: memory.events, cpu.stat, memory.oom_control). */
export const keyedValue = (text: string | null, key: string): number | null => {
  const m = text === null ? null : new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
};

/** OOM kills counted in the service's memory cgroup (v1 memory.oom_control, v2 memory.events), or null. */
export const readOomKills = (dirs: CgroupDirs): number | null => {
  if (dirs.memory) return keyedValue(readSmall(join(dirs.memory, 'memory.oom_control')), 'oom_kill');
  return dirs.v2 ? keyedValue(readSmall(join(dirs.v2, 'memory.events')), 'oom_kill') : null;
};

/**
 * Memory, CPU time, tasks and OOM kills of the service's cgroups: a v1
 * controller's cgroup where there is one, else the v2 cgroup. Null when the
 * service has no cgroup (none named, or none of them there).
 */
export const readUsage = (dirs: CgroupDirs): Usage | null => {
  if (!dirs.v2 && !dirs.memory && !dirs.cpu && !dirs.cpuacct && !dirs.pids) return null;
  const v2 = (file: string) => (dirs.v2 ? readSmall(join(dirs.v2, file)) : null);
  const memoryBytes = dirs.memory ? wholeNumber(readSmall(join(dirs.memory, 'memory.usage_in_bytes'))) : wholeNumber(v2('memory.current'));
  const cpuNs = dirs.cpuacct ? wholeNumber(readSmall(join(dirs.cpuacct, 'cpuacct.usage'))) : null;
  const cpuUs = cpuNs === null ? keyedValue(v2('cpu.stat'), 'usage_usec') : null;
  const cpuSeconds = cpuNs !== null ? cpuNs / 1e9 : cpuUs !== null ? cpuUs / 1e6 : null;
  const pids = dirs.pids ? wholeNumber(readSmall(join(dirs.pids, 'pids.current'))) : wholeNumber(v2('pids.current'));
  const usage = { memoryBytes, cpuSeconds, pids, oomKills: readOomKills(dirs) };
  // cgroups named but not there (the service never ran, or is gone with its cgroups)
  return Object.values(usage).every((v) => v === null) ? null : usage;
};
