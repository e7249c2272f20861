// svrun's side of memory-max, cpu-max, pids-max and nofile: the service's
// cgroups (v2, and v1 ones on a hybrid host) made before anything runs, the
// limits written once the previous run's leftovers are gone, and what the
// service's programs are wrapped in (joining the v1 cgroups, prlimit).
import { type CgroupDirs, prepareCgroupDirs, v1CgroupList } from '../os/cgroup.js';
import { applyLimits, hasLimits, notAppliedLines } from '../os/limits.js';
import { type Containment, findExecutable } from '../os/procgroup.js';
import { readOomKills } from '../os/usage.js';
import type { ServiceDef } from '../servicedir.js';
import type { LimitsStatus } from '../supervise/status.js';

export interface ServiceCgroups {
  dirs: CgroupDirs;
  /** The cgroup part of the service's Containment. */
  containment: Pick<Containment, 'cgroup' | 'v1Cgroups'>;
  /** Counted in the memory cgroup, for lastExit.reason "oom". */
  oomKills: () => number | null;
}

/** Creates the service's cgroups (none with SVKIT_NO_CGROUP or where the hierarchy is not writable). */
export const prepareServiceCgroups = (def: ServiceDef): ServiceCgroups => {
  const dirs = prepareCgroupDirs(def.name, def.dir);
  return { dirs, containment: { cgroup: dirs.v2, v1Cgroups: v1CgroupList(dirs) }, oomKills: () => readOomKills(dirs) };
};

/**
 * Writes the limits into the cgroups and finds prlimit for `nofile`. Each
 * limit that cannot be had is reported once through `logError` (`limits: memory-max
 * needs a memory cgroup; not applied`); the service runs all the same. Returns
 * status.json's `limits` and the Containment's `nofile`.
 */
export const applyServiceLimits = (
  def: ServiceDef,
  cgroups: ServiceCgroups,
  log: (text: string) => void,
): { status: LimitsStatus | null; nofile: Containment['nofile'] } => {
  const l = def.limits;
  const lines = notAppliedLines(applyLimits(cgroups.dirs, l));
  let nofile: Containment['nofile'] = null;
  if (l.nofile !== null) {
    const prlimit = findExecutable('prlimit');
    if (prlimit) nofile = { prlimit, limit: l.nofile };
    else lines.push('limits: nofile needs prlimit (util-linux); not applied');
  }
  for (const line of lines) log(line);
  return { status: hasLimits(l) ? { applied: lines.length === 0, ...l } : null, nofile };
};
