// Named pipes (FIFOs) in folders that are not ours to trust: created with
// mkfifo(3) through koffi (Node has none; coreutils' mkfifo where koffi is
// missing), opened without following a symlink,
// written without ever blocking. The protocols spoken over them live with
// their users: src/supervise/control.ts (supervise/control), src/log/pipe.ts (the held
// log pipe).
import { spawnSync } from 'node:child_process';
import { lastErrno, libc } from './libc.js';
import { closeSync, constants, fstatSync, lstatSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { fileKind, moveAside, type OnAside } from './safefile.js';

const isFifo = (path: string): boolean => {
  try {
    return lstatSync(path).isFIFO();
  } catch {
    return false;
  }
};

type Mkfifo = (path: string, mode: number) => number;
let mkfifoCall: { mkfifo: Mkfifo; errno: () => string } | null | undefined;

/** mkfifo(path, 0600): the C library's, else coreutils'; throws naming why it failed. */
const makeFifo = (path: string): void => {
  if (mkfifoCall === undefined) {
    const c = libc();
    mkfifoCall = c && { mkfifo: c.lib.func('int mkfifo(const char *path, uint32_t mode)') as Mkfifo, errno: () => lastErrno(c) };
  }
  if (mkfifoCall) {
    if (mkfifoCall.mkfifo(path, 0o600) !== 0) throw new Error(`${path}: cannot create FIFO: ${mkfifoCall.errno()}`);
    return;
  }
  const res = spawnSync('mkfifo', ['-m', '0600', path], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (res.status !== 0) throw new Error(`${path}: cannot create FIFO: ${res.error?.message ?? res.stderr?.toString().trim()}`);
};

/**
 * Creates the FIFO if needed (0600). Anything else at `path` (a regular
 * file, a planted symlink) is unlinked first (unlink does not follow); a
 * folder there is moved aside (`onAside` told), never removed.
 */
export const ensureFifo = (path: string, onAside?: OnAside): void => {
  if (isFifo(path)) return;
  try {
    unlinkSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EISDIR' || code === 'EPERM') moveAside(path, 'not-a-fifo', onAside);
  }
  makeFifo(path);
  if (!isFifo(path)) throw new Error(`${path}: cannot create FIFO: replaced meanwhile`);
};

/**
 * Opens the FIFO at `path` (read-only, non-blocking) without following a
 * symlink, and checks it is one; more descriptors of the same pipe are opened
 * through /proc/self/fd, so a swap of `path` meanwhile cannot redirect them.
 */
export const openFifo = (path: string): { fd: number; again: (flags: number) => number } => {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  if (!fstatSync(fd).isFIFO()) {
    closeSync(fd);
    throw new Error(`${path}: not a FIFO`);
  }
  return { fd, again: (flags) => openSync(`/proc/self/fd/${fd}`, flags) };
};

/**
 * Opens the FIFO at `path` for writing without blocking, or null: nobody
 * reads it (ENXIO), nothing is there, or it is not a FIFO at all (a planted
 * symlink is not followed, a folder is not opened, and a regular file in
 * its place is closed untouched: what is there is not a supervisor's FIFO).
 * Any other error is thrown.
 */
export const openWriter = (path: string): number | null => {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW | constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENXIO' || code === 'ENOENT' || code === 'ELOOP' || code === 'EISDIR') return null;
    throw err;
  }
  if (fstatSync(fd).isFIFO()) return fd;
  closeSync(fd);
  return null;
};

/** What is at `path` when it is there and not a FIFO (`a directory`), else null. */
export const notAFifo = (path: string): string | null => {
  try {
    const st = lstatSync(path);
    return st.isFIFO() ? null : fileKind(st);
  } catch {
    return null;
  }
};

/**
 * Writes `data` to the FIFO at `path` without blocking (see openWriter), or
 * says why not: 'no-reader', or 'not-a-fifo' (something else is there).
 */
export const writeFifo = (path: string, data: string): 'written' | 'no-reader' | 'not-a-fifo' => {
  const fd = openWriter(path);
  if (fd === null) return notAFifo(path) === null ? 'no-reader' : 'not-a-fifo';
  try {
    writeSync(fd, data);
  } finally {
    closeSync(fd);
  }
  return 'written';
};
