// A cgroup v2 of the service's own, where the hierarchy is writable: unlike a
// process group, nothing can leave it (setsid, double fork), so "stopped"
// means "cgroup empty" and cgroup.kill is the final, complete kill.
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statfsSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { serviceId } from './serviceid.js';

/**
 * Whose cgroups the service's are made below: svrun's own (`self`), which is
 * what svrun uses; svctl names the supervisor's pid, since svctl itself may
 * run elsewhere (as a service, say).
 */
export type CgroupsOf = number | 'self';

/** The cgroup2 mount point and `of`'s cgroup in it, or null (cgroup v1 only, no /proc...). */
const ownCgroup = (of: CgroupsOf = 'self'): string | null => {
  try {
    const mount = readFileSync(`/proc/${of}/mountinfo`, 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .find((f) => f[f.indexOf('-') + 1] === 'cgroup2');
    const rel = readFileSync(`/proc/${of}/cgroup`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'))
      ?.slice(3);
    if (!mount || mount[4] === undefined || rel === undefined) return null;
    return join(mount[4], rel);
  } catch {
    return null;
  }
};

/**
 * Where the service's cgroup is (or would be), below `of`'s (ours); null
 * without cgroup v2. Named by the service's identity (src/os/serviceid.ts):
 * `serviceDir` is the service folder, never its supervise/.
 */
export const cgroupPath = (name: string, serviceDir: string, of: CgroupsOf = 'self'): string | null =>
  cgroupPathOf(serviceId(name, serviceDir), of);

/** The same, for a service identity already known (`svkit-NAME-HASH`). */
export const cgroupPathOf = (id: string, of: CgroupsOf = 'self'): string | null => {
  const parent = ownCgroup(of);
  return parent ? join(parent, id) : null;
};

// On a hybrid host the cgroup v2 has no controllers: limits and usage then
// live in a cgroup of the same name in each v1 hierarchy that has them.
export const V1_CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'pids'] as const;
export type V1Controller = (typeof V1_CONTROLLERS)[number];

/**
 * The service's cgroups: the v2 one (membership, kill, and the controllers
 * it has), and a v1 one per controller the v2 hierarchy cannot give (null
 * where v2 gives it, or where no such v1 hierarchy is mounted). Paths only:
 * nothing is created (prepareCgroupDirs does that).
 */
export type CgroupDirs = { v2: string | null; memory: string | null; cpu: string | null; cpuacct: string | null; pids: string | null };

/** Mountinfo's octal escapes (`\040` for a space) undone. */
const unescapeMount = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** `of`'s (our own) cgroup folder in each mounted v1 hierarchy, by controller. */
const ownV1Cgroups = (of: CgroupsOf): Partial<Record<V1Controller, string>> => {
  const found: Partial<Record<V1Controller, string>> = {};
  try {
    const paths = new Map<string, string>();
    for (const line of readFileSync(`/proc/${of}/cgroup`, 'utf8').split('\n')) {
      const m = /^\d+:([^:]+):(.*)$/.exec(line);
      if (m) for (const c of m[1]!.split(',')) paths.set(c, m[2]!);
    }
    for (const line of readFileSync(`/proc/${of}/mountinfo`, 'utf8').split('\n')) {
      const f = line.split(' ');
      const sep = f.indexOf('-');
      if (sep < 0 || f[sep + 1] !== 'cgroup') continue;
      const options = (f[sep + 3] ?? '').split(',');
      for (const c of V1_CONTROLLERS) {
        const own = paths.get(c);
        if (!options.includes(c) || own === undefined || found[c] || f[3] === undefined || f[4] === undefined) continue;
        // a bind mount of part of the hierarchy (containers): our path is relative to its root
        const rel = relative(f[3], own);
        if (!rel.startsWith('..')) found[c] = join(unescapeMount(f[4]), rel);
      }
    }
  } catch {
    /* no /proc: no v1 cgroups */
  }
  return found;
};

/** The controllers our own v2 cgroup can hand to its children (its cgroup.controllers). */
export const v2Controllers = (v2: string): string[] => {
  try {
    return readFileSync(join(dirname(v2), 'cgroup.controllers'), 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean);
  } catch {
    return [];
  }
};

export const cgroupDirs = (name: string, serviceDir: string, of: CgroupsOf = 'self'): CgroupDirs => {
  const v2 = cgroupPath(name, serviceDir, of);
  const inV2 = v2 ? v2Controllers(v2) : [];
  const base = serviceId(name, serviceDir);
  const own = ownV1Cgroups(of);
  const v1 = (c: V1Controller): string | null => {
    // cpu.stat in v2 always counts CPU time; cpuacct is only wanted beside a v1 cpu
    const v2Has = c === 'cpuacct' ? inV2.includes('cpu') : inV2.includes(c);
    const parent = own[c];
    return v2Has || parent === undefined ? null : join(parent, base);
  };
  return { v2, memory: v1('memory'), cpu: v1('cpu'), cpuacct: v1('cpuacct'), pids: v1('pids') };
};

/**
 * Creates the service's cgroups: the v2 one (prepareCgroup), and with it the
 * v1 ones of cgroupDirs; a v1 hierarchy that refuses is left out (null).
 * Without a v2 cgroup there are no v1 ones either: the v2 one is what
 * contains and kills the service, the v1 ones only limit and count it.
 */
export const prepareCgroupDirs = (name: string, serviceDir: string): CgroupDirs => {
  const none: CgroupDirs = { v2: null, memory: null, cpu: null, cpuacct: null, pids: null };
  const v2 = prepareCgroup(name, serviceDir);
  if (!v2) return none;
  const dirs = cgroupDirs(name, serviceDir);
  const made = (dir: string | null): string | null => (dir ? makeCgroup(dir, 'cgroup.procs') : null);
  return { v2, memory: made(dirs.memory), cpu: made(dirs.cpu), cpuacct: made(dirs.cpuacct), pids: made(dirs.pids) };
};

/** The v1 cgroups of `dirs` that exist, in a fixed order (processes join each). */
export const v1CgroupList = (dirs: CgroupDirs): string[] => V1_CONTROLLERS.map((c) => dirs[c]).filter((d): d is string => d !== null);

/** Removes the service's cgroups, v1 ones first; false when the v2 one stays (populated). */
export const removeCgroupDirs = (dirs: CgroupDirs): boolean => {
  for (const d of v1CgroupList(dirs)) removeCgroup(d);
  return dirs.v2 === null || removeCgroup(dirs.v2);
};

/**
 * Creates (or reuses) the service's cgroup below our own, named after the
 * service and its folder (names repeat across scan directories).
 * Returns null where the hierarchy is not writable: process groups alone then.
 */
export const prepareCgroup = (name: string, serviceDir: string): string | null => {
  if (process.env.SVKIT_NO_CGROUP) return null;
  const dir = cgroupPath(name, serviceDir);
  return dir ? makeCgroup(dir, 'cgroup.events') : null;
};

/** Creates (or reuses) a cgroup folder; `dir` when it is one (its `probe` file is there), else null. */
const makeCgroup = (dir: string, probe: string): string | null => {
  try {
    mkdirSync(dir, { recursive: true });
    readFileSync(join(dir, probe));
    return dir;
  } catch {
    return null;
  }
};

const CGROUP2_SUPER_MAGIC = 0x63677270;

/**
 * Is `dir` a real cgroup v2 (a directory, not a symlink, on a cgroup2
 * filesystem, with cgroup.events)? A path read from status.json is only
 * used once it passes this and equals cgroupPath(): any other directory
 * could belong to anyone (cgroup.kill written into it kills what is there).
 */
export const isCgroup2 = (dir: string): boolean => {
  try {
    return lstatSync(dir).isDirectory() && statfsSync(dir).type === CGROUP2_SUPER_MAGIC && lstatSync(join(dir, 'cgroup.events')).isFile();
  } catch {
    return false;
  }
};

/** False once no process is left in the cgroup (or the cgroup is gone). */
export const cgroupPopulated = (dir: string): boolean => {
  try {
    return /^populated 1$/m.test(readFileSync(join(dir, 'cgroup.events'), 'utf8'));
  } catch {
    return false;
  }
};

/**
 * cgroupPopulated, but for one member (pid) that does not count: true
 * while any other process is in the cgroup or in a cgroup below it (a
 * service running as root may make some).
 */
export const cgroupPopulatedBesides = (dir: string, pid: number): boolean => {
  if (!cgroupPopulated(dir)) return false;
  try {
    const members = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n');
    if (members.some((p) => p !== '' && p !== String(pid))) return true;
    return readdirSync(dir, { withFileTypes: true }).some((e) => e.isDirectory() && cgroupPopulated(join(dir, e.name)));
  } catch {
    return true; // populated, and no telling by whom
  }
};

export const cgroupPids = (dir: string): number[] => {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

/** SIGKILL to every process in the cgroup; falls back to one kill each on kernels without cgroup.kill. */
export const cgroupKill = (dir: string): void => {
  try {
    writeFileSync(join(dir, 'cgroup.kill'), '1');
  } catch {
    for (const pid of cgroupPids(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
};

/** Removes an empty cgroup; a populated one stays (and says so by failing). */
export const removeCgroup = (dir: string): boolean => {
  try {
    rmdirSync(dir);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
};

/**
 * Is process `pid` in a cgroup v2 called `name`, or below one (a service
 * may make cgroups of its own inside its cgroup)? /proc/PID/cgroup is
 * readable by anyone; only root (or a cgroup's delegate) moves a process.
 */
export const inCgroupNamed = (pid: number, name: string): boolean => {
  try {
    const line = readFileSync(`/proc/${pid}/cgroup`, 'latin1')
      .split('\n')
      .find((l) => l.startsWith('0::'));
    return line !== undefined && line.slice(3).split('/').includes(name);
  } catch {
    return false;
  }
};
