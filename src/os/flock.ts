// flock(2) on a folder, through koffi (Node has no flock): the kernel's own
// lock, held by an open descriptor and released by the kernel when the
// process ends, whatever killed it. Nothing in the folder stands for it, so
// nothing planted there can fake it, and no name swapped inside the folder
// can move it. /proc/locks says who holds one, by device and inode.
import { closeSync, constants, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { lastErrno, libc } from './libc.js';

const LOCK_EX = 2;
const LOCK_NB = 4;

type Flock = (fd: number, op: number) => number;
let flockCall: { flock: Flock; errno: () => string } | null | undefined;

const loadFlock = () => {
  if (flockCall === undefined) {
    const c = libc();
    flockCall = c && { flock: c.lib.func('int flock(int fd, int op)') as Flock, errno: () => lastErrno(c) };
  }
  return flockCall;
};

export type FolderLock =
  /** Ours until release() (or until this process ends). */
  | { kind: 'held'; release: () => void }
  /** Another process holds it: its pid when /proc/locks shows one. */
  | { kind: 'busy'; holder: number | null }
  /** No flock here (no koffi, or a file system without it, such as some NFS): why. */
  | { kind: 'unsupported'; why: string };

/**
 * Takes an exclusive flock on the folder `dir` without waiting. The
 * descriptor is close-on-exec (Node opens every file so): no child keeps
 * the lock once it has exec'd.
 */
export const lockFolder = (dir: string): FolderLock => {
  const call = loadFlock();
  if (!call) return { kind: 'unsupported', why: 'no flock without koffi' };
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  if (call.flock(fd, LOCK_EX | LOCK_NB) === 0) {
    let open = true;
    return {
      kind: 'held',
      release: () => {
        if (open) closeSync(fd); // the last descriptor closed: the kernel drops the lock
        open = false;
      },
    };
  }
  const why = call.errno();
  let holder: number | null = null;
  try {
    holder = why === 'EWOULDBLOCK' || why === 'EAGAIN' ? flockHolder(fstatSync(fd, { bigint: true })) : null;
  } finally {
    closeSync(fd);
  }
  if (why === 'EWOULDBLOCK' || why === 'EAGAIN') return { kind: 'busy', holder };
  return { kind: 'unsupported', why: `flock: ${why}` };
};

/** Device numbers as /proc/locks prints them (MAJOR:MINOR in hex), from st_dev (glibc's makedev encoding). */
const devText = (dev: bigint): string => {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  const hex = (n: bigint) => n.toString(16).padStart(2, '0');
  return `${hex(major)}:${hex(minor)}`;
};

/**
 * The pid holding a flock on the file `st` names (0 when the holder is in
 * another pid namespace), or null when /proc/locks shows none. With
 * `byInode`, a file system whose st_dev is not its superblock's (btrfs
 * subvolumes) is matched by inode alone when the device matches nothing:
 * good enough to name a holder we know exists, not to prove one does.
 */
export const flockHolder = (st: { dev: bigint; ino: bigint }, byInodeToo = true): number | null => {
  let text: string;
  try {
    text = readFileSync('/proc/locks', 'latin1');
  } catch {
    return null;
  }
  const dev = devText(st.dev);
  const ino = st.ino.toString();
  let byInode: number | null = null;
  for (const line of text.split('\n')) {
    // `1: FLOCK  ADVISORY  WRITE 7892 fe:00:2166573 0 EOF` (a `->` line is a waiter, not a holder)
    const m = /^\d+: FLOCK\s+\S+\s+\S+\s+(-?\d+) ([0-9a-f]+:[0-9a-f]+):(\d+) /.exec(line);
    if (!m || m[3] !== ino) continue;
    const pid = Math.max(0, Number(m[1]));
    if (m[2] === dev) return pid;
    byInode ??= pid;
  }
  return byInodeToo ? byInode : null;
};

/** Who holds a flock on the folder `dir` by /proc/locks (exact device and inode), or null: none, or `dir` is gone. */
export const folderLockHolder = (dir: string): number | null => {
  try {
    return flockHolder(statSync(dir, { bigint: true }), false);
  } catch {
    return null;
  }
};
