// supervise/control: the FIFO through which clients send runit's one-letter
// commands. svrun keeps it open for writing too, so it never reads EOF, and
// reads it through a non-blocking pipe handle (no libuv thread-pool thread
// tied up). A writer that finds no reader gets ENXIO: "not supervised".
import { spawnSync } from 'node:child_process';
import { closeSync, constants, fstatSync, lstatSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';

export const CONTROL_LETTERS = 'udoxthiq12awpck';

const isFifo = (path: string): boolean => {
  try {
    return lstatSync(path).isFIFO();
  } catch {
    return false;
  }
};

/**
 * Creates the FIFO if needed (Node has no mkfifo: coreutils' does it, once per
 * service folder). Anything else at `path` (a regular file, a planted symlink)
 * is unlinked first (unlink does not follow); a folder there is an error.
 */
export const ensureFifo = (path: string): void => {
  if (isFifo(path)) return;
  try {
    unlinkSync(path);
  } catch {
    /* nothing there */
  }
  const res = spawnSync('mkfifo', ['-m', '0600', path], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (res.status !== 0 || !isFifo(path)) {
    throw new Error(`${path}: cannot create FIFO: ${res.error?.message ?? res.stderr?.toString().trim()}`);
  }
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

export interface ControlReader {
  close(): void;
}

/** Reads command letters from the FIFO at `path` and hands each to `onLetter`. */
export const openControl = (path: string, onLetter: (letter: string) => void): ControlReader => {
  ensureFifo(path);
  const { fd: rfd, again } = openFifo(path);
  const wfd = again(constants.O_WRONLY | constants.O_NONBLOCK);
  const socket = new Socket({ fd: rfd, readable: true, writable: false });
  socket.on('data', (chunk: Buffer) => {
    for (const letter of chunk.toString('latin1')) if (CONTROL_LETTERS.includes(letter)) onLetter(letter);
  });
  socket.on('error', () => {
    /* a FIFO read error leaves the supervisor supervising; signals still work */
  });
  return {
    close: () => {
      socket.destroy();
      closeSync(wfd);
    },
  };
};

export type SendResult = 'sent' | 'not-supervised';

/** Client side: one letter to a supervisor, or 'not-supervised' (ENXIO, no FIFO). */
export const sendControl = (path: string, letters: string): SendResult => {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENXIO' || code === 'ENOENT') return 'not-supervised';
    throw err;
  }
  try {
    writeSync(fd, letters);
  } finally {
    closeSync(fd);
  }
  return 'sent';
};
