// Where a service keeps its supervise/ and built-in log/ folders: in the
// service folder, or under $SVKIT_STATE_DIR/NAME when that is set (read-only
// service folders, e.g. in a container image).
import { join } from 'node:path';

export interface ServicePaths {
  supervise: string;
  status: string;
  lock: string;
  control: string;
  pid: string;
  /** The built-in logger's folder (log/current). */
  logDir: string;
}

export const servicePaths = (dir: string, name: string, stateDir = process.env.SVKIT_STATE_DIR): ServicePaths => {
  const base = stateDir ? join(stateDir, name) : dir;
  return pathsIn(join(base, 'supervise'), join(base, 'log'));
};

/**
 * A file of the scan directory's own state (svctl's lock, what svctl boot
 * records): in the scan directory, or in $SVKIT_STATE_DIR when that is set.
 */
export const scanStatePath = (scanDir: string, file: string, stateDir = process.env.SVKIT_STATE_DIR): string =>
  join(stateDir || scanDir, file);

/** The files of a supervise/ folder; svrun calls it again with the folders it resolved (src/os/safefile.ts ensureStateDir). */
export const pathsIn = (supervise: string, logDir: string): ServicePaths => ({
  supervise,
  status: join(supervise, 'status.json'),
  lock: join(supervise, 'lock'),
  control: join(supervise, 'control'),
  pid: join(supervise, 'pid'),
  logDir,
});
