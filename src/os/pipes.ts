// Real pipes for the stdout and stderr of what svrun starts. Node's stdio
// 'pipe' is a Unix socketpair, and open("/dev/stdout") on a socket fails with
// ENXIO (nginx's `access_log /dev/stdout;`, `sh -c 'echo x > /dev/stdout'`).
// Node has no pipe(2): pipe2(O_CLOEXEC) is called through koffi (src/os/libc.ts), loaded at the
// first call (svrun starts its service at once, so every svrun pays it once;
// docs/performance.md has the cost). Both ends are close-on-exec: the write end
// reaches a child only as the fd 1 or 2 spawn dup2()s it to, and svrun closes
// its own copy right after spawning, so the read end sees EOF exactly when the
// child and whatever it forked have let go, as with the socketpair before.
import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { lastErrno, libc, libcUnavailable } from './libc.js';

export interface Pipe {
  read: number;
  write: number;
}

const O_CLOEXEC = 0o2000000;

type Pipe2 = (fds: Int32Array, flags: number) => number;
interface PipeCalls {
  pipe2: Pipe2;
  errno: () => string;
}

let calls: PipeCalls | null | undefined;

const loadPipe2 = (): PipeCalls | null => {
  if (calls !== undefined) return calls;
  const c = libc();
  if (!c) return (calls = null);
  const pipe2 = c.lib.func('int pipe2(_Out_ int *fds, int flags)') as Pipe2;
  return (calls = { pipe2, errno: () => lastErrno(c) });
};

/**
 * A new pipe, both ends close-on-exec; null where pipe2 cannot be called
 * (see pipeUnavailable: the caller falls back to a socketpair). Throws an
 * Error with `code` (EMFILE, ENFILE) when the kernel refuses one.
 */
export const openPipe = (): Pipe | null => {
  const c = loadPipe2();
  if (!c) return null;
  const fds = new Int32Array(2);
  if (c.pipe2(fds, O_CLOEXEC) !== 0) {
    const code = c.errno();
    throw Object.assign(new Error(`pipe2: ${code}`), { code });
  }
  return { read: fds[0]!, write: fds[1]! };
};

/** Why openPipe returned null, or null while it has not. */
export const pipeUnavailable = (): string | null => libcUnavailable();

/** The read end as a stream (a libuv pipe handle: non-blocking, off the thread pool); closed when it ends or is destroyed. */
export const readEnd = (fd: number): Readable => new Socket({ fd, readable: true, writable: false });

/** Closes descriptors of ours, ignoring one already closed. */
export const closeFds = (...fds: number[]): void => {
  for (const fd of fds) {
    try {
      closeSync(fd);
    } catch {
      /* closed already */
    }
  }
};
