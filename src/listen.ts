// The `listen` setting (docs/services.md): the addresses a supervisor binds
// before the first start and hands to every run of `run` as fds 3, 4, ...
// (systemd's socket-activation protocol). Parsing and the checks that tie it
// to other settings are pure; binding is src/os/sockets.ts's.
import { isIPv4, isIPv6 } from 'node:net';
import { quote } from './errors.js';
import { canonicalIPv6, type SocketAddress } from './os/sockets.js';

/** One line of `listen`, parsed (the type is the socket module's: it binds these). */
export type ListenAddress = SocketAddress;

/** The first fd a service gets its sockets on (after stdin, stdout, stderr: sd_listen_fds' SD_LISTEN_FDS_START). */
export const LISTEN_FDS_START = 3;
/** Most addresses one service listens on: each is an fd in every run. */
export const MAX_LISTEN = 64;
/** sockaddr_un's sun_path holds 108 bytes, the terminating NUL included. */
export const UNIX_PATH_MAX = 107;

const EXPECTED = 'expected HOST:PORT (IPv4), [IPv6]:PORT or unix:/absolute/path';

const portOf = (text: string): number | string => {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) return `expected a port from 1 to 65535, got ${quote(text)}`;
  return Number(text);
};

/** One line of `listen`: the address, or why it is not one (the message names the line). */
export const parseListenLine = (line: string): ListenAddress | string => {
  if (line.startsWith('unix:')) {
    const path = line.slice('unix:'.length);
    if (!path.startsWith('/')) return `${EXPECTED}, got ${quote(line)} (a unix socket path must be absolute)`;
    if (path.endsWith('/') || path.includes('\0')) return `${EXPECTED}, got ${quote(line)}`;
    if (Buffer.byteLength(path) > UNIX_PATH_MAX) return `${quote(line)}: a unix socket path has at most ${UNIX_PATH_MAX} bytes`;
    return { kind: 'unix', path, text: line };
  }
  const v6 = /^\[([^\]]*)\]:([^:]*)$/.exec(line);
  const v4 = v6 ? null : /^([^:[\]]*):([^:]*)$/.exec(line);
  const m = v6 ?? v4;
  if (!m) return `${EXPECTED}, got ${quote(line)}`;
  const [, host = '', portText = ''] = m;
  if (v6 && (host.includes('%') || !isIPv6(host)))
    return `expected an IPv6 address in [...], got ${quote(host)}${host.includes('%') ? ' (zones are not supported)' : ''}`;
  if (v4 && !isIPv4(host)) return `expected an IPv4 address (names are not resolved; 0.0.0.0 for every address), got ${quote(host)}`;
  const port = portOf(portText);
  if (typeof port === 'string') return port;
  return { kind: 'tcp', family: v6 ? 6 : 4, host, port, text: line };
};

/** What the checks of `listen` need to know of the rest of the service. */
export interface ListenContext {
  oneshot: boolean;
  /** A template or one of its instances: its addresses are shared by every instance (SO_REUSEPORT). */
  shared: boolean;
  notificationFd: number | null;
}

/**
 * `listen`'s lines (blank lines and `#` comments already dropped) as
 * addresses; each problem is told to `fail(file, message)` once. The
 * notification-fd must not be one of the fds the sockets take.
 */
export const readListen = (lines: readonly string[], ctx: ListenContext, fail: (file: string, msg: string) => void): ListenAddress[] => {
  const found: ListenAddress[] = [];
  const seen = new Set<string>();
  for (const line of lines) {
    const a = parseListenLine(line);
    if (typeof a === 'string') fail('listen', a);
    else if (seen.has(addressKey(a))) fail('listen', `${quote(line)} is listed twice`);
    else if (a.kind === 'unix' && ctx.shared)
      fail('listen', `${quote(line)}: instances of a template cannot share a unix socket; use HOST:PORT`);
    else {
      seen.add(addressKey(a));
      found.push(a);
    }
  }
  if (lines.length > MAX_LISTEN) fail('listen', `at most ${MAX_LISTEN} addresses, got ${lines.length}`);
  if (lines.length > 0 && ctx.oneshot) fail('listen', 'only a longrun listens (type is oneshot)');
  const nfd = ctx.notificationFd;
  const last = LISTEN_FDS_START + lines.length - 1;
  if (nfd !== null && nfd >= LISTEN_FDS_START && nfd <= last) {
    const fds = lines.length === 1 ? `fd ${LISTEN_FDS_START}` : `fds ${LISTEN_FDS_START} to ${last}`;
    fail('notification-fd', `${nfd} is taken by listen (its sockets are ${fds}); use ${last + 1} or higher`);
  }
  return found.slice(0, MAX_LISTEN);
};

/** What makes two addresses the same socket: the family, host and port, or the path (`[::1]:80` and `[0:0::1]:80` alike). */
export const addressKey = (a: ListenAddress): string =>
  a.kind === 'unix' ? `unix:${a.path}` : a.family === 4 ? `${a.host}:${a.port}` : `[${canonicalIPv6(a.host)}]:${a.port}`;
