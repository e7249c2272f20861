// sd_notify(3) for svctl boot run by systemd (`Type=notify`): one datagram
// to the unix socket $NOTIFY_SOCKET names (a path, or `@name` for the
// abstract namespace). Node has no unix datagram sockets, so socket(2) and
// sendto(2) go through koffi (src/os/libc.ts); loaded only when the
// variable is set, so nothing outside systemd pays for it.
import { closeSync } from 'node:fs';
import { endianness } from 'node:os';
import { lastErrno, libc } from './libc.js';

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
/** sizeof(sockaddr_un.sun_path) on Linux. */
const SUN_PATH_MAX = 108;

/** The sockaddr_un for `where` and its length, or null when it cannot name a socket (empty, relative, too long). */
export const unixAddress = (where: string): { addr: Buffer; len: number } | null => {
  const abstract = where.startsWith('@');
  if (!abstract && !where.startsWith('/')) return null;
  const path = Buffer.from(abstract ? `\0${where.slice(1)}` : where, 'utf8');
  // a path needs room for its terminating NUL; an abstract name's length is exact
  if (path.length < 2 || path.length > SUN_PATH_MAX - (abstract ? 0 : 1)) return null;
  const addr = Buffer.alloc(2 + SUN_PATH_MAX);
  if (endianness() === 'LE')
    addr.writeUInt16LE(AF_UNIX, 0); // sa_family_t, in host order
  else addr.writeUInt16BE(AF_UNIX, 0);
  path.copy(addr, 2);
  return { addr, len: 2 + path.length + (abstract ? 0 : 1) };
};

type Socket = (domain: number, type: number, protocol: number) => number;
type SendTo = (fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: number) => number;
let calls: { socket: Socket; sendto: SendTo; errno: () => string } | null | undefined;

/**
 * Sends `state` (`READY=1`, `STOPPING=1`, newline-separated assignments) to
 * the service manager named by `socketPath`. Returns null once sent, or why
 * not (told once by the caller; the service runs on all the same).
 */
export const sdNotify = (socketPath: string, state: string): string | null => {
  const to = unixAddress(socketPath);
  if (!to) return `NOTIFY_SOCKET: not a unix socket address: ${socketPath}`;
  if (calls === undefined) {
    const c = libc();
    calls = c && {
      socket: c.lib.func('int socket(int domain, int type, int protocol)') as Socket,
      sendto: c.lib.func('long sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addrlen)') as SendTo,
      errno: () => lastErrno(c),
    };
  }
  if (!calls) return 'NOTIFY_SOCKET: koffi is not available, cannot notify';
  const fd = calls.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return `NOTIFY_SOCKET: socket: ${calls.errno()}`;
  try {
    const msg = Buffer.from(state, 'utf8');
    return calls.sendto(fd, msg, msg.length, 0, to.addr, to.len) === msg.length ? null : `NOTIFY_SOCKET ${socketPath}: ${calls.errno()}`;
  } finally {
    closeSync(fd);
  }
};
