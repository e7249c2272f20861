// svctl's view of what a service costs: read from its cgroups when asked
// (svrun polls nothing), shown as MEM and CPU in `svctl status` and as
// `usage` in --json.
import { cgroupDirs, type CgroupDirs } from '../../os/cgroup.js';
import { readUsage } from '../../os/usage.js';
import type { ShownStatus } from './observe.js';

/** status --json's `usage` (docs/svctl.md): null where no cgroup holds a process of the service. */
export type ShownUsage = { memoryBytes: number | null; cpuSeconds: number | null; pids: number | null } | null;

/**
 * The service's cgroups (named by the service folder `serviceDir`), found
 * below its supervisor's own (svctl may run in another cgroup: as a
 * service, say); below ours when no supervisor runs.
 */
export const cgroupsOf = (s: ShownStatus, serviceDir: string): CgroupDirs =>
  cgroupDirs(s.name, serviceDir, s.supervised && s.supervisor ? s.supervisor.pid : 'self');

/**
 * The service's usage while something of it runs (its pid, or leftovers);
 * a stopped service's cgroups are gone or empty, and show `-`.
 */
export const usageOf = (s: ShownStatus, serviceDir: string): ShownUsage => {
  if (s.pid === null && !s.leftovers) return null;
  const u = readUsage(cgroupsOf(s, serviceDir));
  return u && { memoryBytes: u.memoryBytes, cpuSeconds: u.cpuSeconds, pids: u.pids };
};

/** Bytes in powers of 1024 with memory-max's letters: 812K, 31.5M, 2.0G (one decimal below 100). */
export const memoryText = (bytes: number | null | undefined): string => {
  if (bytes === null || bytes === undefined) return '-';
  const units = ['B', 'K', 'M', 'G', 'T'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v}B` : `${v < 100 ? v.toFixed(1) : Math.round(v)}${units[i]}`;
};

/** CPU time: 0.42s below a minute, then 3m07s, 2h05m (total since the cgroup was made). */
export const cpuText = (seconds: number | null | undefined): string => {
  if (seconds === null || seconds === undefined) return '-';
  if (seconds < 60) return `${seconds.toFixed(2)}s`;
  const s = Math.floor(seconds);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h${pad(Math.floor(s / 60) % 60)}m`;
};
