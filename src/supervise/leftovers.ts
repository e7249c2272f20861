// Principle 2: after a SIGKILL of the supervisor, the next one stops what the
// old run left behind before it starts anything (src/supervisor/leftoverstop.ts),
// so a service never runs twice. This is the proof svrun and svctl share.
// The old status.json is only a hint: whoever can write the service folder can
// write it. A process is signalled only when /proc proves it belongs to the old
// run, and the only cgroup ever used is the one svkit makes for this service.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { cgroupPopulated, isCgroup2 } from '../os/cgroup.js';
import { groupExists, groupMembers, procStat } from '../os/proc.js';
import type { Status } from './status.js';

/** What the old run was, by what svkit itself knows (never by status.json). */
export interface Service {
  /** $SVKIT_SERVICE in its processes' environment (svrun sets it). */
  name: string;
  /** cgroupPath() for the service: the only cgroup its leftovers can be in; null without cgroup v2. */
  cgroup: string | null;
}

/**
 * The process group the old status names, when /proc proves it is the old
 * run's: its leader (pid) alive or a zombie with the recorded start time.
 * The kernel never reuses a number while a group of that id exists, so the
 * group then is the one that leader made. No start time recorded, another
 * start time, or no such process: null (gone, reused, or a made-up hint).
 */
export const verifiedGroup = (old: Status | null): number | null => {
  if (!old || !Number.isInteger(old.pid) || old.pid === null || old.pid <= 1) return null;
  if (!Number.isInteger(old.pidStart) || old.pidStart === null) return null;
  const st = procStat(old.pid);
  return st !== null && st.start === old.pidStart ? old.pid : null;
};

/** Does process `pid`'s environment say it was started for `service`? (Unreadable: no.) */
const startedFor = (pid: number, service: string): boolean => {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`SVKIT_SERVICE=${service}`);
  } catch {
    return false;
  }
};

/**
 * The old group's members once its leader is gone (no process has its pid
 * any more), each proven one by one: in the session the leader made (svkit
 * starts every run with setsid), born after the leader, with the service's
 * name in its environment. The number alone proves nothing here.
 */
export const strayMembers = (old: Status | null, service: Service | null): number[] => {
  if (!service || !old || !Number.isInteger(old.pid) || old.pid === null || old.pid <= 1) return [];
  if (!Number.isInteger(old.pidStart) || old.pidStart === null || procStat(old.pid) !== null) return [];
  const pgid = old.pid;
  const since = old.pidStart;
  if (!groupExists(pgid)) return [];
  return groupMembers(pgid).filter((pid) => {
    const st = procStat(pid);
    return st !== null && st.sid === pgid && st.start >= since && startedFor(pid, service.name);
  });
};

/**
 * The service's own cgroup, when it is a real one with processes in it: the
 * one this process would make, or the one the old status names if it is a
 * real cgroup with that same name (svkit-NAME-HASH of this supervise folder),
 * made below another parent (a supervisor started from another session).
 */
export const populatedCgroup = (service: Service | null, old: Status | null): string | null => {
  if (!service?.cgroup) return null;
  const recorded = typeof old?.cgroup === 'string' && basename(old.cgroup) === basename(service.cgroup) ? old.cgroup : null;
  for (const dir of new Set([service.cgroup, recorded])) if (dir && isCgroup2(dir) && cgroupPopulated(dir)) return dir;
  return null;
};

/**
 * Is anything of a previous run provably still running? The one test svrun
 * (before it claims the service) and svctl (before it reports leftovers or
 * launches a cleanup) both use. Without `service` (svctl not knowing the
 * service's name), only a verified group counts.
 */
export const liveLeftovers = (old: Status | null, service: Service | null): boolean => {
  const pgid = verifiedGroup(old);
  if (pgid !== null && groupMembers(pgid).length > 0) return true;
  return strayMembers(old, service).length > 0 || populatedCgroup(service, old) !== null;
};
