// Real pipes for the stdout and stderr of what svrun starts. Node's stdio
// 'pipe' is a Unix socketpair, and open("/dev/stdout") on a socket fails with
// ENXIO (nginx's `access_log /dev/stdout;`, `sh -c 'echo x > /dev/stdout'`).
// Node has no pipe(2): pipe2(O_CLOEXEC) is called through koffi, loaded at the
// first call (svrun starts its service at once, so every svrun pays it once;
// docs/logging.md has the cost). Both ends are close-on-exec: the write end
// reaches a child only as the fd 1 or 2 spawn dup2()s it to, and svrun closes
// its own copy right after spawning, so the read end sees EOF exactly when the
// child and whatever it forked have let go, as with the socketpair before.
import { closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';

export interface Pipe {
  read: number;
  write: number;
}

const O_CLOEXEC = 0o2000000;

type Pipe2 = (fds: Int32Array, flags: number) => number;
interface Libc {
  pipe2: Pipe2;
  errno: () => number;
  errnoName: (n: number) => string;
}

/** glibc's name, then musl's (Alpine images): koffi ships a build for both. */
const LIBC_NAMES = ['libc.so.6', `libc.musl-${process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : process.arch}.so.1`];

let libc: Libc | null | undefined;
/** Why pipe2 is not available here (koffi or libc missing), once known. */
let missing: string | null = null;

const loadLibc = (): Libc | null => {
  if (libc !== undefined) return libc;
  libc = null;
  let koffi: typeof import('koffi');
  try {
    koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  } catch (err) {
    missing = `koffi: ${(err as Error).message.split('\n')[0]}`;
    return null;
  }
  for (const name of LIBC_NAMES) {
    try {
      const pipe2 = koffi.load(name).func('int pipe2(_Out_ int *fds, int flags)') as Pipe2;
      const names = new Map(Object.entries(koffi.os.errno as Record<string, number>).map(([k, v]) => [v, k]));
      libc = { pipe2, errno: () => koffi.errno(), errnoName: (n) => names.get(n) ?? `errno ${n}` };
      return libc;
    } catch (err) {
      missing = `${name}: ${(err as Error).message.split('\n')[0]}`;
    }
  }
  return null;
};

/**
 * A new pipe, both ends close-on-exec; null where pipe2 cannot be called
 * (see pipeUnavailable: the caller falls back to a socketpair). Throws an
 * Error with `code` (EMFILE, ENFILE) when the kernel refuses one.
 */
export const openPipe = (): Pipe | null => {
  const c = loadLibc();
  if (!c) return null;
  const fds = new Int32Array(2);
  if (c.pipe2(fds, O_CLOEXEC) !== 0) {
    const code = c.errnoName(c.errno());
    throw Object.assign(new Error(`pipe2: ${code}`), { code });
  }
  return { read: fds[0]!, write: fds[1]! };
};

/** Why openPipe returned null, or null while it has not. */
export const pipeUnavailable = (): string | null => missing;

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
