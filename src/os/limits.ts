// Resource limits written into the service's cgroups before `run` starts.
// One interface, two implementations: each controller (memory, cpu, pids)
// is either in the cgroup v2 (memory.max, cpu.max, pids.max, after the
// controller is enabled in the parent's cgroup.subtree_control) or, on a
// hybrid host whose v2 has no controllers, in a v1 hierarchy of its own
// (memory.limit_in_bytes, cpu.cfs_quota_us, pids.max). Every file is
// written on each start, "no limit" included, so a cgroup left over from an
// earlier run with other settings never keeps an old limit.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Limits } from '../vocabulary.js';
import type { CgroupDirs } from './cgroup.js';

export type LimitController = 'memory' | 'cpu' | 'pids';

/** The cfs period svkit uses (docs/services.md: cpu-max is written with a 100 ms period). */
export const CPU_PERIOD_US = 100_000;

/** One file to write in one controller's cgroup. */
export interface LimitWrite {
  controller: LimitController;
  file: string;
  text: string;
}

/** What a v2 cgroup gets for `l` (pure). */
export const v2Writes = (l: Limits): LimitWrite[] => [
  { controller: 'memory', file: 'memory.max', text: l.memoryMax === null ? 'max' : String(l.memoryMax) },
  { controller: 'cpu', file: 'cpu.max', text: `${l.cpuMax === null ? 'max' : (l.cpuMax * CPU_PERIOD_US) / 100} ${CPU_PERIOD_US}` },
  { controller: 'pids', file: 'pids.max', text: l.pidsMax === null ? 'max' : String(l.pidsMax) },
];

/** What v1 cgroups get for `l` (pure): the period before the quota it bounds. */
export const v1Writes = (l: Limits): LimitWrite[] => [
  { controller: 'memory', file: 'memory.limit_in_bytes', text: l.memoryMax === null ? '-1' : String(l.memoryMax) },
  { controller: 'cpu', file: 'cpu.cfs_period_us', text: String(CPU_PERIOD_US) },
  { controller: 'cpu', file: 'cpu.cfs_quota_us', text: l.cpuMax === null ? '-1' : String((l.cpuMax * CPU_PERIOD_US) / 100) },
  { controller: 'pids', file: 'pids.max', text: l.pidsMax === null ? 'max' : String(l.pidsMax) },
];

/** The file each limit lives in, for the log line. */
const LIMIT_FILES: Record<LimitController, keyof Limits> = { memory: 'memoryMax', cpu: 'cpuMax', pids: 'pidsMax' };
export const LIMIT_FILE_NAMES: Record<LimitController, string> = { memory: 'memory-max', cpu: 'cpu-max', pids: 'pids-max' };

/** Where one controller's limits go: a v1 cgroup of its own, or the v2 one. */
export interface LimitTarget {
  version: 1 | 2;
  dir: string;
}

/** A controller's target in `dirs`: its v1 cgroup where it has one, else the v2 cgroup, else none. */
export const limitTarget = (dirs: CgroupDirs, c: LimitController): LimitTarget | null => {
  const v1 = dirs[c];
  if (v1) return { version: 1, dir: v1 };
  return dirs.v2 ? { version: 2, dir: dirs.v2 } : null;
};

/**
 * Enables the controllers for the children of the v2 cgroup's parent (our
 * own cgroup), those not enabled yet, in one write; false when refused.
 */
const enableV2 = (dir: string, controllers: readonly LimitController[]): boolean => {
  const file = join(dirname(dir), 'cgroup.subtree_control');
  try {
    const enabled = readFileSync(file, 'utf8').split(/\s+/);
    const missing = controllers.filter((c) => !enabled.includes(c));
    if (missing.length > 0) writeFileSync(file, missing.map((c) => `+${c}`).join(' '));
    return true;
  } catch {
    // EBUSY: our own cgroup has processes of its own (cgroup v2's no-internal-processes rule); ENOENT, EACCES
    return false;
  }
};

/**
 * Writes every limit file into the service's cgroups. Returns the
 * controllers whose limit is set but could not be written (no such
 * cgroup, controller not available, write refused): [] when all applied.
 */
export const applyLimits = (dirs: CgroupDirs, l: Limits): LimitController[] => {
  const failed = new Set<LimitController>();
  const controllers = ['memory', 'cpu', 'pids'] as const;
  const wantedIn = (c: LimitController) => l[LIMIT_FILES[c]] !== null;
  // v2: a controller's files appear once it is enabled; "no limit" needs no controller
  const toEnable = controllers.filter((c) => wantedIn(c) && limitTarget(dirs, c)?.version === 2);
  const v2Enabled = toEnable.length === 0 || enableV2(dirs.v2!, toEnable);
  for (const c of controllers) {
    const wanted = wantedIn(c);
    const t = limitTarget(dirs, c);
    if (!t || (t.version === 2 && wanted && !v2Enabled)) {
      if (wanted) failed.add(c);
      continue;
    }
    for (const w of (t.version === 1 ? v1Writes : v2Writes)(l)) {
      if (w.controller !== c) continue;
      try {
        writeFileSync(join(t.dir, w.file), w.text);
      } catch {
        if (wanted) failed.add(c);
      }
    }
  }
  return [...failed];
};

/** The limits' lines for svrun's log: one per limit that is set and not applied. */
export const notAppliedLines = (failed: readonly LimitController[]): string[] =>
  failed.map((c) => `limits: ${LIMIT_FILE_NAMES[c]} needs a ${c} cgroup; not applied`);

/** Any limit file present at all? (status.json's `limits` is null otherwise.) */
export const hasLimits = (l: Limits): boolean => Object.values(l).some((v) => v !== null);
