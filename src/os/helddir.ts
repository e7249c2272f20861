// A folder held by its descriptor. svrun reaches its supervise/ through
// /proc/self/fd/N: whatever is done to the name meanwhile (the folder moved
// away, a symlink or another folder put in its place) redirects none of its
// writes, which stay in the folder it validated. And since others (svctl)
// find the folder by its name, svrun puts the name right when it notices
// (restore): what took its place is moved aside, the folder put back. A
// folder removed is not made anew (its service folder may be going too):
// that is said once, and svctl waits for, then names, the supervisor.
import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, renameSync, type Stats, statSync, symlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { showPathAs } from '../errors.js';
import { moveAside } from './safefile.js';

export interface HeldDir {
  /** The path to write through: /proc/self/fd/N, the held folder wherever it is. */
  readonly path: string;
  /** The name others find it by (DIR/supervise), a symlink to it or the folder itself. */
  readonly named: string;
  /**
   * Is `named` still this folder? If not, puts it right and says what it
   * did in one line (null: nothing was wrong). Throws only on a failure
   * nothing can mend (the line says why).
   */
  restore(): string | null;
  close(): void;
}

const openDir = (path: string): number => openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);

const same = (a: Stats | null, b: Stats): boolean => a !== null && a.dev === b.dev && a.ino === b.ino;
const statOrNull = (path: string, follow: boolean): Stats | null => {
  try {
    return follow ? statSync(path) : lstatSync(path);
  } catch {
    return null;
  }
};

/**
 * Holds the folder `resolved` (a real folder: ensureStateDir's answer),
 * known to others as `named` (the same path, or a symlink svrun accepted).
 */
export const holdDir = (named: string, resolved: string): HeldDir => {
  let fd = openDir(resolved);
  const path = `/proc/self/fd/${fd}`;
  showPathAs(path, named);
  const link = named === resolved ? null : readlinkSync(named);
  // the folders holding the names: if either is gone or another folder now, nothing here is ours to mend
  const parents = [dirname(named), dirname(resolved)].map((p) => ({ p, st: statSync(p) }));
  /** Moves whatever is at `p` aside, beside it; what it was and its new name, or null when nothing was there. */
  const aside = (p: string): string | null => {
    let said: string | null = null;
    moveAside(p, 'replaced', (m) => (said = `${m.kind} moved aside to ${m.aside}`));
    return said;
  };
  return {
    path,
    named,
    restore: () => {
      const ours = fstatSync(fd);
      if (same(statOrNull(named, true), ours) && (link === null || same(statOrNull(resolved, false), ours))) return null;
      const gone = parents.find(({ p, st }) => !same(statOrNull(p, true), st));
      if (gone) throw new Error(`${gone.p}: removed or replaced while svrun ran: ${named} not put back (stop this svrun)`);
      const done: string[] = [];
      const where = readlinkSync(path);
      if (where.endsWith(' (deleted)') || ours.nlink === 0) {
        // never made anew: the service folder may be on its way out (rm -rf), and must be let go
        throw new Error(
          `${named}: removed while svrun ran: status.json and the control FIFO are gone with it; stop this svrun (SIGTERM) and start it again`,
        );
      }
      if (!same(statOrNull(resolved, false), ours)) {
        const was = aside(resolved);
        renameSync(where, resolved);
        done.push(`it was moved to ${where}: put back`, ...(was ? [`what was in its place: ${was}`] : []));
      }
      if (link !== null && !same(statOrNull(named, true), fstatSync(fd))) {
        const was = aside(named);
        symlinkSync(link, named);
        done.push('the symlink to it was replaced: made again', ...(was ? [`the replacement: ${was}`] : []));
      }
      return `${named}: ${done.join('; ')}`;
    },
    close: () => {
      if (fd >= 0) closeSync(fd);
      fd = -1;
    },
  };
};
