// svctl boot as systemd's `Type=notify` service: with $NOTIFY_SOCKET set,
// READY=1 arrives on that datagram socket once every service is up, and
// STOPPING=1 when SIGTERM begins the shutdown; no service inherits the
// variable. The test binds the socket itself (through koffi, as svkit sends).
import { closeSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { libc } from '../../../src/os/libc.js';
import { unixAddress } from '../../../src/os/sdnotify.js';
import { exitOf, type Sandbox, startSvctl, waitFor, withSandbox } from '../../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const c = libc();

/** A bound unix datagram socket at `path`; `take()` returns the datagrams received since (never blocks). */
const listen = (path: string): { take: () => string[]; close: () => void } => {
  const AF_UNIX = 1;
  const SOCK_DGRAM = 2;
  const SOCK_NONBLOCK = 0o4000;
  const SOCK_CLOEXEC = 0o2000000;
  const socket = c!.lib.func('int socket(int, int, int)') as (d: number, t: number, p: number) => number;
  const bind = c!.lib.func('int bind(int, const void *, uint32_t)') as (fd: number, a: Buffer, l: number) => number;
  const recv = c!.lib.func('long recv(int, _Out_ void *, size_t, int)') as (fd: number, b: Buffer, l: number, f: number) => number;
  const fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const to = unixAddress(path)!;
  if (fd < 0 || bind(fd, to.addr, to.len) !== 0) throw new Error(`cannot bind ${path}`);
  return {
    take: () => {
      const got: string[] = [];
      const buf = Buffer.alloc(4096);
      for (let n = recv(fd, buf, buf.length, 0); n > 0; n = recv(fd, buf, buf.length, 0)) got.push(buf.subarray(0, n).toString());
      return got;
    },
    close: () => closeSync(fd),
  };
};

let sock: ReturnType<typeof listen> | null = null;
afterEach(() => {
  sock?.close();
  sock = null;
});

describe.runIf(c)('svctl boot with $NOTIFY_SOCKET (systemd Type=notify; needs koffi)', { timeout: 60_000 }, () => {
  it('READY=1 once every service is up, STOPPING=1 at SIGTERM (said on stderr too); services do not see the socket', async () => {
    const path = sb.path('notify.sock');
    sock = listen(path);
    // db is ready only once the test says so, after it started: READY=1 must wait for it
    const go = sb.path('db-go');
    sb.service('db', `env > env.txt\nuntil [ -e ${go} ]; do sleep 0.01; done\necho >&3\nexec sleep 1000`, { 'notification-fd': '3' });
    sb.service('web', 'exec sleep 1000', { requires: 'db' });
    process.env.NOTIFY_SOCKET = path;
    const b = startSvctl(sb, ['boot']);
    delete process.env.NOTIFY_SOCKET;
    const got: string[] = [];
    await waitFor(() => existsSync(join(sb.scan, 'db', 'env.txt')), 'db started');
    writeFileSync(go, '');
    const ready = await waitFor(
      () => {
        got.push(...sock!.take());
        return got.find((m) => m.split('\n').includes('READY=1'));
      },
      () => `READY=1 (got ${JSON.stringify(got)}; stderr: ${b.stderr()})`,
      20_000,
    );
    // both up when it was sent: read right after it arrived
    for (const name of ['db', 'web']) expect(sb.status(name)?.state, name).toBe('up');
    expect(ready).toBe('READY=1\nSTATUS=2 services up');
    await waitFor(() => existsSync(join(sb.scan, 'db', 'env.txt')), 'db wrote its environment');
    expect(readFileSync(join(sb.scan, 'db', 'env.txt'), 'utf8')).not.toContain('NOTIFY_SOCKET');

    b.child.kill('SIGTERM');
    await waitFor(
      () => {
        got.push(...sock!.take());
        return got.includes('STOPPING=1');
      },
      () => `STOPPING=1 (got ${JSON.stringify(got)})`,
      10_000,
    );
    expect(await exitOf(b.child)).toBe(0);
    expect(got.filter((m) => m === 'STOPPING=1')).toHaveLength(1);
    expect(b.stderr()).toBe('svctl: boot: SIGTERM: stopping 2 services\n');
    expect(sb.tokenPids()).toEqual([]);
  });

  it('a socket nobody listens on: said once, boot runs and stops as usual', async () => {
    sb.service('db', 'exec sleep 1000');
    process.env.NOTIFY_SOCKET = sb.path('nobody.sock');
    const b = startSvctl(sb, ['boot']);
    delete process.env.NOTIFY_SOCKET;
    await sb.waitStatus('db', (s) => s.state === 'up', 'db up', 10_000);
    await waitFor(
      () => b.stderr().includes('svctl: boot: NOTIFY_SOCKET'),
      () => `the line (stderr: ${b.stderr()})`,
    );
    b.child.kill('SIGTERM');
    expect(await exitOf(b.child)).toBe(0);
    expect(b.stderr().match(/NOTIFY_SOCKET/g)).toHaveLength(1);
    expect(b.stderr()).toMatch(/^svctl: boot: NOTIFY_SOCKET .*nobody\.sock: ENOENT\n/);
  });
});
