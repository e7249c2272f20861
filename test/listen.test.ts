// The `listen` setting (src/listen.ts): each line's parse, the checks that
// tie it to other settings, and readService() reporting them as one line
// per problem naming NAME/FILE. Pure: no socket is bound here.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addressKey, type ListenContext, parseListenLine, readListen } from '../src/listen.js';
import { readService } from '../src/servicedir.js';
import { sockaddrOf } from '../src/os/sockets.js';

describe('listen: one line', () => {
  it.each<[string, object]>([
    ['127.0.0.1:8080', { kind: 'tcp', family: 4, host: '127.0.0.1', port: 8080 }],
    ['0.0.0.0:1', { kind: 'tcp', family: 4, host: '0.0.0.0', port: 1 }],
    ['10.1.2.3:65535', { kind: 'tcp', family: 4, host: '10.1.2.3', port: 65535 }],
    ['[::1]:443', { kind: 'tcp', family: 6, host: '::1', port: 443 }],
    ['[::]:80', { kind: 'tcp', family: 6, host: '::', port: 80 }],
    ['[2001:db8::7]:9000', { kind: 'tcp', family: 6, host: '2001:db8::7', port: 9000 }],
    ['[::ffff:127.0.0.1]:80', { kind: 'tcp', family: 6, host: '::ffff:127.0.0.1', port: 80 }],
    ['unix:/run/web.sock', { kind: 'unix', path: '/run/web.sock' }],
  ])('%s is an address', (line, expected) => {
    expect(parseListenLine(line)).toEqual({ ...expected, text: line });
  });

  it.each<[string, RegExp]>([
    ['8080', /expected HOST:PORT \(IPv4\), \[IPv6\]:PORT or unix:\/absolute\/path, got "8080"/],
    [':8080', /expected an IPv4 address .*got ""/],
    ['localhost:8080', /names are not resolved.*got "localhost"/],
    ['256.0.0.1:80', /expected an IPv4 address.*"256.0.0.1"/],
    ['127.0.0.1:0', /expected a port from 1 to 65535, got "0"/],
    ['127.0.0.1:65536', /expected a port from 1 to 65535, got "65536"/],
    ['127.0.0.1:http', /expected a port from 1 to 65535, got "http"/],
    ['127.0.0.1:', /expected a port from 1 to 65535, got ""/],
    ['::1:80', /expected HOST:PORT/],
    ['[::1]', /expected HOST:PORT/],
    ['[127.0.0.1]:80', /expected an IPv6 address in \[\.\.\.\], got "127.0.0.1"/],
    ['[fe80::1%eth0]:80', /zones are not supported/],
    ['unix:web.sock', /must be absolute/],
    ['unix:/run/', /expected HOST:PORT/],
    [`unix:/${'x'.repeat(107)}`, /at most 107 bytes/],
    ['tcp://127.0.0.1:80', /expected HOST:PORT/],
  ])('%s is refused', (line, why) => {
    const r = parseListenLine(line);
    expect(typeof r).toBe('string');
    expect(r).toMatch(why);
  });

  it('addressKey: one key per socket, whatever the spelling of an IPv6 address', () => {
    const key = (l: string) => addressKey(parseListenLine(l) as Exclude<ReturnType<typeof parseListenLine>, string>);
    expect(key('[::1]:80')).toBe(key('[0:0:0:0:0:0:0:1]:80'));
    expect(key('[::ffff:127.0.0.1]:80')).toBe(key('[::ffff:7f00:1]:80'));
    expect(key('[::1]:80')).not.toBe(key('[::1]:81'));
    expect(key('127.0.0.1:80')).not.toBe(key('[::1]:80'));
  });

  it('sockaddrOf: the bytes the kernel reads (family, port in network order, address)', () => {
    const v4 = sockaddrOf(parseListenLine('127.0.0.1:8080') as never);
    expect([...v4.subarray(0, 8)]).toEqual([2, 0, 0x1f, 0x90, 127, 0, 0, 1]);
    const v6 = sockaddrOf(parseListenLine('[::1]:443') as never);
    expect(v6.length).toBe(28);
    expect([...v6.subarray(0, 4)]).toEqual([10, 0, 0x01, 0xbb]);
    expect(v6[23]).toBe(1);
    const un = sockaddrOf(parseListenLine('unix:/run/a.sock') as never);
    expect(un.length).toBe(110);
    expect(un.subarray(2, 2 + '/run/a.sock'.length).toString()).toBe('/run/a.sock');
    expect(un[2 + '/run/a.sock'.length]).toBe(0);
  });
});

describe('listen: the setting as a whole', () => {
  const ctx = (o: Partial<ListenContext> = {}): ListenContext => ({ oneshot: false, shared: false, notificationFd: null, ...o });
  const read = (lines: string[], c: ListenContext = ctx()) => {
    const problems: string[] = [];
    const found = readListen(lines, c, (file, msg) => problems.push(`${file}: ${msg}`));
    return { found: found.map((a) => a.text), problems };
  };

  it.each<[string, string[], ListenContext, string[], string[]]>([
    ['two addresses, in order', ['127.0.0.1:80', '[::1]:80'], ctx(), ['127.0.0.1:80', '[::1]:80'], []],
    ['the same socket twice', ['[::1]:80', '[0::1]:80'], ctx(), ['[::1]:80'], ['listen: "[0::1]:80" is listed twice']],
    ['a template shares TCP addresses', ['0.0.0.0:80'], ctx({ shared: true }), ['0.0.0.0:80'], []],
    [
      'a template cannot share a unix socket',
      ['unix:/run/w.sock'],
      ctx({ shared: true }),
      [],
      ['listen: "unix:/run/w.sock": instances of a template cannot share a unix socket; use HOST:PORT'],
    ],
    [
      'a oneshot does not listen',
      ['127.0.0.1:80'],
      ctx({ oneshot: true }),
      ['127.0.0.1:80'],
      ['listen: only a longrun listens (type is oneshot)'],
    ],
    [
      'notification-fd on the one socket',
      ['127.0.0.1:80'],
      ctx({ notificationFd: 3 }),
      ['127.0.0.1:80'],
      ['notification-fd: 3 is taken by listen (its sockets are fd 3); use 4 or higher'],
    ],
    [
      'notification-fd among three sockets',
      ['127.0.0.1:80', '127.0.0.1:81', '127.0.0.1:82'],
      ctx({ notificationFd: 5 }),
      ['127.0.0.1:80', '127.0.0.1:81', '127.0.0.1:82'],
      ['notification-fd: 5 is taken by listen (its sockets are fds 3 to 5); use 6 or higher'],
    ],
    [
      'notification-fd after the sockets',
      ['127.0.0.1:80', '127.0.0.1:81'],
      ctx({ notificationFd: 5 }),
      ['127.0.0.1:80', '127.0.0.1:81'],
      [],
    ],
    ['no listen: any notification-fd', [], ctx({ notificationFd: 3 }), [], []],
  ])('%s', (_what, lines, c, found, problems) => {
    expect(read(lines, c)).toEqual({ found, problems });
  });

  it('at most 64 addresses', () => {
    const lines = Array.from({ length: 65 }, (_, i) => `127.0.0.1:${1000 + i}`);
    expect(read(lines).problems).toEqual(['listen: at most 64 addresses, got 65']);
  });
});

describe('listen: readService', () => {
  const root = mkdtempSync(join(tmpdir(), 'svkit-listen-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  const svc = (name: string, files: Record<string, string>): string => {
    const dir = join(root, String(n++), name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'run'), '#!/bin/sh\n');
    chmodSync(join(dir, 'run'), 0o755);
    for (const [f, body] of Object.entries(files)) writeFileSync(join(dir, f), body);
    return dir;
  };

  it('lines, blank lines and comments: the addresses in order', () => {
    const r = readService(svc('web', { listen: '# public\n0.0.0.0:8080\n\n[::]:8080\nunix:/run/web.sock\n' }));
    expect(r.ok && r.def.listen.map((a) => a.text)).toEqual(['0.0.0.0:8080', '[::]:8080', 'unix:/run/web.sock']);
  });

  it('each problem one line naming the service and file', () => {
    const r = readService(svc('web', { listen: 'localhost:80\n127.0.0.1:99999\n', 'notification-fd': '3' }));
    expect(r.ok ? [] : r.problems).toEqual([
      'web/listen: expected an IPv4 address (names are not resolved; 0.0.0.0 for every address), got "localhost"',
      'web/listen: expected a port from 1 to 65535, got "99999"',
      'web/notification-fd: 3 is taken by listen (its sockets are fds 3 to 4); use 5 or higher',
    ]);
  });

  it("an instance (its listen a link to the template's) may not name a unix socket", () => {
    const r = readService(svc('web@1', { listen: 'unix:/run/web.sock\n' }));
    expect(r.ok ? [] : r.problems).toEqual([
      'web@1/listen: "unix:/run/web.sock": instances of a template cannot share a unix socket; use HOST:PORT',
    ]);
  });
});
