// A cgroup v2 of the service's own, where the hierarchy is writable: unlike a
// process group, nothing can leave it (setsid, double fork), so "stopped"
// means "cgroup empty" and cgroup.kill is the final, complete kill.
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, realpathSync, rmdirSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The cgroup2 mount point and our own cgroup in it, or null (cgroup v1 only, no /proc...). */
const ownCgroup = (): string | null => {
  try {
    const mount = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .find((f) => f[f.indexOf('-') + 1] === 'cgroup2');
    const rel = readFileSync('/proc/self/cgroup', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'))
      ?.slice(3);
    if (!mount || mount[4] === undefined || rel === undefined) return null;
    return join(mount[4], rel);
  } catch {
    return null;
  }
};

const realPath = (dir: string): string => {
  try {
    return realpathSync(dir);
  } catch {
    return dir;
  }
};

/** Where the service's cgroup is (or would be), below our own; null without cgroup v2. */
export const cgroupPath = (name: string, superviseDir: string): string | null => {
  const parent = ownCgroup();
  if (!parent) return null;
  // by the folder's real path: svrun resolves a symlinked supervise/ once, svctl reads it through the link
  const hash = createHash('sha1').update(realPath(superviseDir)).digest('hex').slice(0, 10);
  return join(parent, `svkit-${name.replace(/[^A-Za-z0-9._-]/g, '_')}-${hash}`);
};

/**
 * Creates (or reuses) the service's cgroup below our own, named after the
 * service and its supervise folder (names repeat across scan directories).
 * Returns null where the hierarchy is not writable: process groups alone then.
 */
export const prepareCgroup = (name: string, superviseDir: string): string | null => {
  if (process.env.SVKIT_NO_CGROUP) return null;
  const dir = cgroupPath(name, superviseDir);
  if (!dir) return null;
  try {
    mkdirSync(dir, { recursive: true });
    readFileSync(join(dir, 'cgroup.events'));
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

/** Where a service's cgroups are: the v2 one and, on a hybrid host, each v1 hierarchy's (null: none there). */
export type CgroupDirs = { v2: string | null; memory: string | null; cpu: string | null; cpuacct: string | null; pids: string | null };

/** The service's cgroup directories (v2 only in this stand-in: the v1 ones come with the limits work). */
export const cgroupDirs = (name: string, superviseDir: string): CgroupDirs => ({
  v2: cgroupPath(name, superviseDir),
  memory: null,
  cpu: null,
  cpuacct: null,
  pids: null,
});
