// Principle 2: after a SIGKILL of the supervisor, the next one stops what the
// old run left behind before it starts anything (src/supervisor/leftoverstop.ts),
// so a service never runs twice. This is the proof svrun and svctl share.
// The old status.json is only a hint: whoever can write the service folder can
// write it, and a pid with its start time is public (/proc/PID/stat). A
// process is signalled only when /proc proves it is this service's by what
// svkit put there and nobody else can: its cgroup (svkit's, named by the
// service's identity) or $SVKIT_SERVICE_ID in its environment (fixed when
// it was exec'd; only its own user or root could have put it there).
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { cgroupPathOf, cgroupPopulated, inCgroupNamed, isCgroup2 } from '../os/cgroup.js';
import { groupExists, groupMembers, procStat } from '../os/proc.js';
import { serviceId } from '../os/serviceid.js';
import type { Status } from './status.js';

/** What the old run was, by what svkit itself knows (never by status.json). */
export interface Service {
  /** $SVKIT_SERVICE in its processes' environment (svrun sets it). */
  name: string;
  /** serviceId(): $SVKIT_SERVICE_ID in its processes' environment, and its cgroup's name. */
  id: string;
  /** cgroupPath() for the service: the only cgroup its leftovers can be in; null without cgroup v2. */
  cgroup: string | null;
}

/** The service of the folder `serviceDir` called `name`, as svrun makes it (its cgroup below ours). */
export const serviceScope = (name: string, serviceDir: string): Service => {
  const id = serviceId(name, serviceDir);
  return { name, id, cgroup: cgroupPathOf(id) };
};

/** Does process `pid`'s environment hold `entry` (NAME=VALUE)? Unreadable (another user's, as non-root): no. */
const environHas = (pid: number, entry: string): boolean => {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(entry);
  } catch {
    return false;
  }
};

/**
 * Is `pid` provably the service's? In its cgroup (or one below it), or
 * started with its $SVKIT_SERVICE_ID. A program that rewrites its own
 * environment area (nginx's and PostgreSQL's process titles) proves
 * nothing by it: without a cgroup, such leftovers are left alone, and
 * svrun says so (unprovenHint).
 */
export const provenMember = (pid: number, service: Service): boolean =>
  inCgroupNamed(pid, service.id) || environHas(pid, `SVKIT_SERVICE_ID=${service.id}`);

/** The recorded pid and start time, when both are there and plausible. */
const recorded = (old: Status | null): { pid: number; since: number } | null => {
  if (!old || !Number.isInteger(old.pid) || old.pid === null || old.pid <= 1) return null;
  if (!Number.isInteger(old.pidStart) || old.pidStart === null) return null;
  return { pid: old.pid, since: old.pidStart };
};

/**
 * The process group the old status names, when /proc proves it is the old
 * run's: its leader (pid) alive with the recorded start time, leading its
 * own session and group (svkit starts every run with setsid), and proven
 * the service's (provenMember). The kernel never reuses a number while a
 * group of that id exists, so the group then is the one that leader made.
 * Anything else (gone, reused, a bystander named): null.
 */
export const verifiedGroup = (old: Status | null, service: Service): number | null => {
  const r = recorded(old);
  if (!r) return null;
  const st = procStat(r.pid);
  if (st === null || st.start !== r.since || st.sid !== r.pid || st.pgid !== r.pid) return null;
  if (st.state === 'Z' || st.state === 'X') return null; // a zombie's environment is gone: its members prove themselves
  return provenMember(r.pid, service) ? r.pid : null;
};

/**
 * The old group's members when its leader proves nothing (gone, a zombie,
 * or its environment rewritten), each proven one by one: in the session
 * the leader made, born after the leader, and provenMember. The number
 * alone proves nothing here.
 */
export const strayMembers = (old: Status | null, service: Service): number[] => {
  const r = recorded(old);
  if (!r || !groupExists(r.pid)) return [];
  return groupMembers(r.pid).filter((pid) => {
    const st = procStat(pid);
    return st !== null && st.sid === r.pid && st.start >= r.since && provenMember(pid, service);
  });
};

/**
 * The service's own cgroup, when it is a real one with processes in it: the
 * one this process would make, or the one the old status names if it is a
 * real cgroup with that same name (the service's identity), made below
 * another parent (a supervisor started from another session).
 */
export const populatedCgroup = (service: Service, old: Status | null): string | null => {
  if (!service.cgroup) return null;
  const recordedCgroup = typeof old?.cgroup === 'string' && basename(old.cgroup) === service.id ? old.cgroup : null;
  for (const dir of new Set([service.cgroup, recordedCgroup])) if (dir && isCgroup2(dir) && cgroupPopulated(dir)) return dir;
  return null;
};

/**
 * Is anything of a previous run provably still running? The one test svrun
 * (before it claims the service) and svctl (before it reports leftovers or
 * launches a cleanup) both use.
 */
export const liveLeftovers = (old: Status | null, service: Service): boolean => {
  const pgid = verifiedGroup(old, service);
  if (pgid !== null && groupMembers(pgid).length > 0) return true;
  return strayMembers(old, service).length > 0 || populatedCgroup(service, old) !== null;
};

/**
 * The line svrun logs when the old status names a live process it may not
 * touch: alive with the recorded start time, but nothing proves it the
 * service's (a bystander named in a crafted file, or a leftover that
 * rewrote its environment where no cgroup holds it). Null otherwise.
 */
export const unprovenHint = (old: Status | null, service: Service): string | null => {
  const r = recorded(old);
  if (!r || procStat(r.pid)?.start !== r.since || liveLeftovers(old, service)) return null;
  return `leftovers: status.json names pid ${r.pid}, which nothing proves to be ${service.name}'s (not in its cgroup, no SVKIT_SERVICE_ID=${service.id} in its environment): not signalled`;
};
