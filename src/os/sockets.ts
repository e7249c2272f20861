// Listening sockets made the way a socket-activating supervisor needs them:
// Node 20 binds only inside its own net.Server (no SO_REUSEPORT, no raw
// descriptor to hand a child), so socket, setsockopt, bind and listen are
// called through koffi (src/os/libc.ts). Each socket is close-on-exec: it
// reaches a child only as the fd spawn dup2()s it to. Linux's constants
// (x86-64 and arm64 share them).
import { closeSync, lstatSync, type Stats, unlinkSync } from 'node:fs';
import { lastErrno, libc, libcUnavailable } from './libc.js';

const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SO_REUSEPORT = 15;
const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;
/** The kernel caps it at net.core.somaxconn; a server that calls listen() again (Node: 511) sets its own. */
const BACKLOG = 4096;

/** Where a listening socket is bound. `text`: the address as the user wrote it. */
export type SocketAddress =
  /** `HOST:PORT` (IPv4) or `[IPv6]:PORT`. */
  | { kind: 'tcp'; family: 4 | 6; host: string; port: number; text: string }
  /** `unix:/path`: a stream socket at an absolute path. */
  | { kind: 'unix'; path: string; text: string };

/** A valid IPv6 address in one spelling: its 8 groups, each as a plain hex number (`[::1]` and `[0:0::1]` alike). */
export const canonicalIPv6 = (host: string): string => {
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(host);
  let h = host.toLowerCase();
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    h = `${h.slice(0, -dotted[1]!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = h.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((g) => parseInt(g, 16).toString(16)).join(':');
};

/** The 16 bytes of a valid IPv6 address. */
const ipv6Bytes = (host: string): Buffer => {
  const b = Buffer.alloc(16);
  for (const [i, g] of canonicalIPv6(host).split(':').entries()) b.writeUInt16BE(parseInt(g, 16), i * 2);
  return b;
};

type Call = (...args: unknown[]) => number;
interface SocketCalls {
  socket: Call;
  setsockopt: Call;
  bind: Call;
  listen: Call;
  connect: Call;
  errno: () => string;
}

let calls: SocketCalls | null | undefined;

const load = (): SocketCalls | null => {
  if (calls !== undefined) return calls;
  const c = libc();
  if (!c) return (calls = null);
  const f = (proto: string) => c.lib.func(proto) as Call;
  return (calls = {
    socket: f('int socket(int domain, int type, int protocol)'),
    setsockopt: f('int setsockopt(int fd, int level, int name, const uint8_t *value, uint32_t len)'),
    bind: f('int bind(int fd, const uint8_t *addr, uint32_t len)'),
    listen: f('int listen(int fd, int backlog)'),
    connect: f('int connect(int fd, const uint8_t *addr, uint32_t len)'),
    errno: () => lastErrno(c),
  });
};

/** What the kernel said, as an Error with Node's `code`. */
const failure = (what: string, code: string): Error => Object.assign(new Error(`${what}: ${ERRNO_TEXT[code] ?? code}`), { code });
const ERRNO_TEXT: Record<string, string> = {
  EADDRINUSE: 'address in use',
  EADDRNOTAVAIL: 'address not available on this host',
  EACCES: 'permission denied',
  ENOENT: 'no such directory',
  ENOTDIR: 'not a directory on the way',
  EAFNOSUPPORT: 'address family not supported',
};

/** The socket address of `a` as the kernel reads it (sockaddr_in, sockaddr_in6, sockaddr_un). */
export const sockaddrOf = (a: SocketAddress): Buffer => {
  if (a.kind === 'unix') {
    const b = Buffer.alloc(2 + 108);
    b.writeUInt16LE(AF_UNIX, 0);
    b.write(a.path, 2, 'utf8');
    return b;
  }
  if (a.family === 4) {
    const b = Buffer.alloc(16);
    b.writeUInt16LE(AF_INET, 0);
    b.writeUInt16BE(a.port, 2);
    for (const [i, o] of a.host.split('.').entries()) b.writeUInt8(Number(o), 4 + i);
    return b;
  }
  const b = Buffer.alloc(28);
  b.writeUInt16LE(AF_INET6, 0);
  b.writeUInt16BE(a.port, 2);
  ipv6Bytes(a.host).copy(b, 8);
  return b;
};

const INT_ONE = (() => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(1);
  return b;
})();

export interface BindOptions {
  /** SO_REUSEPORT: other sockets (a template's other instances) bind the same address, and the kernel spreads connections among them. */
  reusePort: boolean;
  /** Unix sockets are made with this mode (systemd's SocketMode default: 0666). */
  unixMode?: number;
}

/**
 * A listening socket on `a`: its descriptor (close-on-exec, blocking, as
 * systemd hands them), or throws an Error naming what failed (`code`:
 * EADDRINUSE...). A TCP socket has SO_REUSEADDR (a restart never waits out
 * TIME_WAIT); an IPv6 one is IPv6 only, so `[::]:80` and `0.0.0.0:80` can
 * both be listed. A unix socket's path must be free or hold a stale socket,
 * which is replaced; anything else there (a file, a symlink, a live socket)
 * is refused, never followed or removed.
 */
export const bindListener = (a: SocketAddress, o: BindOptions): number => {
  const c = load();
  if (!c) throw new Error(`sockets need koffi (${libcUnavailable() ?? 'not loaded'})`);
  if (a.kind === 'unix') clearStaleSocket(c, a);
  const domain = a.kind === 'unix' ? AF_UNIX : a.family === 4 ? AF_INET : AF_INET6;
  const fd = c.socket(domain, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw failure('socket', c.errno());
  try {
    const opt = (level: number, name: number, what: string) => {
      if (c.setsockopt(fd, level, name, INT_ONE, 4) !== 0) throw failure(what, c.errno());
    };
    if (a.kind === 'tcp') opt(SOL_SOCKET, SO_REUSEADDR, 'SO_REUSEADDR');
    if (a.kind === 'tcp' && o.reusePort) opt(SOL_SOCKET, SO_REUSEPORT, 'SO_REUSEPORT');
    if (a.kind === 'tcp' && a.family === 6) opt(IPPROTO_IPV6, IPV6_V6ONLY, 'IPV6_V6ONLY');
    const addr = sockaddrOf(a);
    // the mode is the umask's doing at bind: the one moment it is set, nothing else runs on this thread
    const umask = a.kind === 'unix' ? process.umask(0o777 & ~(o.unixMode ?? 0o666)) : null;
    let bound: number;
    try {
      bound = c.bind(fd, addr, addr.length);
    } finally {
      if (umask !== null) process.umask(umask);
    }
    if (bound !== 0) throw failure('bind', c.errno());
    if (c.listen(fd, BACKLOG) !== 0) throw failure('listen', c.errno());
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
};

/** The unix socket path is free, or made so: a socket nobody listens on is removed; anything else is refused. */
const clearStaleSocket = (c: SocketCalls, a: Extract<SocketAddress, { kind: 'unix' }>): void => {
  let st: Stats;
  try {
    st = lstatSync(a.path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (st.isSymbolicLink()) throw new Error(`${a.path}: a symlink is there; not followed, not replaced`);
  if (!st.isSocket()) throw new Error(`${a.path}: something that is not a socket is there; not replaced`);
  if (socketAnswers(c, a)) throw Object.assign(new Error(`${a.path}: address in use (something listens on it)`), { code: 'EADDRINUSE' });
  unlinkSync(a.path);
};

/** Does something listen on the unix socket? A non-blocking connect: refused means stale; accepted or a full backlog, in use. */
const socketAnswers = (c: SocketCalls, a: Extract<SocketAddress, { kind: 'unix' }>): boolean => {
  const fd = c.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) throw failure('socket', c.errno());
  try {
    const addr = sockaddrOf(a);
    if (c.connect(fd, addr, addr.length) === 0) return true;
    const code = c.errno();
    if (code === 'ECONNREFUSED' || code === 'ENOENT') return false;
    if (code === 'EAGAIN' || code === 'EINPROGRESS') return true;
    throw failure('connect', code);
  } finally {
    closeSync(fd);
  }
};

/** Closes a listening socket; a unix socket's file is removed when it is still the one bound (`ino`). */
export const closeListener = (fd: number, a: SocketAddress, ino: number | null): void => {
  try {
    closeSync(fd);
  } catch {
    /* closed already */
  }
  if (a.kind !== 'unix' || ino === null) return;
  try {
    const st = lstatSync(a.path);
    if (st.isSocket() && st.ino === ino) unlinkSync(a.path);
  } catch {
    /* gone already */
  }
};

/** The inode of the unix socket just bound at `path` (to remove only that one later), or null. */
export const socketInode = (path: string): number | null => {
  try {
    const st = lstatSync(path);
    return st.isSocket() ? st.ino : null;
  } catch {
    return null;
  }
};
