// Everything in a service folder is untrusted input (SPEC.md "The service
// directory"): a FIFO, a device, a folder or a file over 64 KiB as any
// settings file is a one-line error naming the file, never a hang or a 16 GB
// svctl; each problem is reported once, a list file a few times at most;
// numeric ids are in range; every error is one line whatever it quotes.
// readService runs in a child under a deadline (test/boundedread.ts), svrun
// and svctl as real processes under a deadline (killed by pid after it).
import { spawnSync } from 'node:child_process';
import { closeSync, lstatSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoundedReader } from './boundedread.js';
import { type Sandbox, SVCTL, SVRUN, waitFor, withSandbox } from './helpers.js';

/** The deadline of one svrun/svctl call that must return at once: a hang is SIGKILLed at it (code 128). */
const PROMPT_MS = 8000;

const mkfifo = (path: string): void => {
  const r = spawnSync('mkfifo', [path]);
  if (r.status !== 0) throw new Error(`mkfifo ${path}: ${r.stderr}`);
};

type Hostile = 'fifo' | 'dev-zero' | 'directory' | '100 KiB';
/** Puts a hostile `kind` of file at `path` (its folder created). */
const plant = (path: string, kind: Hostile): void => {
  mkdirSync(join(path, '..'), { recursive: true });
  if (kind === 'fifo') mkfifo(path);
  else if (kind === 'dev-zero') symlinkSync('/dev/zero', path);
  else if (kind === 'directory') mkdirSync(path);
  else writeFileSync(path, `${'x'.repeat(99)}\n`.repeat(1024)); // 100 KiB of lines
};
const REASON: Record<Hostile, string> = {
  fifo: 'not a regular file (a FIFO)',
  'dev-zero': 'not a regular file (a character device)',
  directory: 'not a regular file (a directory)',
  '100 KiB': 'larger than 65536 bytes',
};

const SETTINGS = [
  'type',
  'requires',
  'timeout-kill',
  'timeout-ready',
  'timeout-finish',
  'down-signal',
  'restart',
  'user',
  'notification-fd',
  'env/FOO',
  'log/config',
  'listen',
];

let root: string;
let n = 0;
const reader = new BoundedReader();
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'svkit-untrusted-'));
});
afterAll(() => {
  reader.kill();
  rmSync(root, { recursive: true, force: true });
});

/** A fresh service folder `web` with an executable run. */
const folder = (name = 'web'): string => {
  const dir = join(root, String(n++), name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'run'), '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
  return dir;
};

describe('readService: a hostile settings file is one line naming it, at once', () => {
  const cases = SETTINGS.flatMap((file) => (['fifo', 'dev-zero', 'directory', '100 KiB'] as const).map((kind) => [file, kind] as const));
  it.each(cases)('%s as %s', async (file, kind) => {
    const dir = folder();
    plant(join(dir, file), kind);
    // a read that blocked (FIFO) or grew without bound (/dev/zero) would never return
    const r = await reader.read(dir);
    expect(r).toEqual({ kind: 'errors', errors: [`web/${file}: ${REASON[kind]}`] });
  });

  it.each(['run', 'finish', 'check', 'stop', 'log/run'])('a FIFO named %s is not an executable file', async (file) => {
    const dir = folder();
    rmSync(join(dir, file), { force: true });
    plant(join(dir, file), 'fifo');
    expect(await reader.read(dir)).toEqual({ kind: 'errors', errors: [`web/${file}: not an executable file (a FIFO)`] });
  });

  it('a FIFO named down is the down marker (stat, never opened)', async () => {
    const dir = folder();
    plant(join(dir, 'down'), 'fifo');
    expect(await reader.read(dir)).toEqual({ kind: 'ok' });
  });

  it('a settings file of exactly 64 KiB, and a symlink to a regular file, are fine', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'requires'), `${'#'.repeat(1023)}\n`.repeat(64)); // 65536 bytes of comments
    writeFileSync(join(root, `kill-${n}`), '300\n');
    symlinkSync(join(root, `kill-${n}`), join(dir, 'timeout-kill'));
    expect(await reader.read(dir)).toEqual({ kind: 'ok' });
  });

  it('env/ that is not a folder is one line', async () => {
    const dir = folder();
    plant(join(dir, 'env'), 'fifo');
    expect(await reader.read(dir)).toEqual({ kind: 'errors', errors: ['web/env: not a directory'] });
  });
});

describe('readService: each problem once, a few per list file', () => {
  it('a requires of 10 M lines (over 64 KiB) is one line', async () => {
    const dir = folder();
    const fd = openSync(join(dir, 'requires'), 'w');
    const block = 'nosuch\n'.repeat(100_000);
    for (let i = 0; i < 100; i++) writeFileSync(fd, block);
    closeSync(fd);
    expect(await reader.read(dir, 5000)).toEqual({ kind: 'errors', errors: ['web/requires: larger than 65536 bytes'] });
  });

  it('a requires of 5,000 copies of one bad name and 100 distinct bad names: 5 lines and the count of the rest', async () => {
    const dir = folder();
    const distinct = Array.from({ length: 100 }, (_, i) => `bad/${i}`);
    writeFileSync(join(dir, 'requires'), `${'bad/0\n'.repeat(5000)}${distinct.join('\n')}\n`);
    const r = await reader.read(dir);
    expect(r).toEqual({
      kind: 'errors',
      errors: [...distinct.slice(0, 5).map((d) => `web/requires: invalid service name "${d}"`), 'web/requires: ... and 95 more'],
    });
  });

  it('20 invalid env/ names: 5 lines and the count of the rest', async () => {
    const dir = folder();
    mkdirSync(join(dir, 'env'));
    for (let i = 0; i < 20; i++) writeFileSync(join(dir, 'env', `${i}BAD`), 'x');
    const r = await reader.read(dir);
    expect(r.kind).toBe('errors');
    const errors = (r as { errors: string[] }).errors;
    expect(errors).toHaveLength(6);
    expect(errors[5]).toBe('web/env: ... and 15 more');
    for (const e of errors.slice(0, 5)) expect(e).toMatch(/^web\/env\/\d+BAD: invalid variable name$/);
  });
});

describe('readService: user and group ids in range', () => {
  it.each([
    ['4294967295', 'web/user: expected a user id from 0 to 4294967294, got "4294967295"'],
    ['99999999999999999999999999999', 'web/user: expected a user id from 0 to 4294967294, got "99999999999999999999999999999"'],
    ['1000:4294967295', 'web/user: expected a group id from 0 to 4294967294, got "4294967295"'],
  ])('user %s is invalid', async (value, line) => {
    const dir = folder();
    writeFileSync(join(dir, 'user'), `${value}\n`);
    expect(await reader.read(dir)).toEqual({ kind: 'errors', errors: [line] });
  });

  it.each(['0', '4294967294', '1000:0', 'nobody:4294967294'])('user %s is valid', async (value) => {
    const dir = folder();
    writeFileSync(join(dir, 'user'), `${value}\n`);
    expect(await reader.read(dir)).toEqual({ kind: 'ok' });
  });
});

describe('readService: one line always', () => {
  it('a value with control bytes is quoted with escapes', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'timeout-kill'), '1\x1b[2J\x00\r\x7f"\\\n');
    expect(await reader.read(dir)).toEqual({
      kind: 'errors',
      errors: ['web/timeout-kill: expected milliseconds, got "1\\x1b[2J\\x00\\r\\x7f\\"\\\\"'],
    });
  });

  it('an env/ file named with a newline and ESC is named with escapes', async () => {
    const dir = folder();
    mkdirSync(join(dir, 'env'));
    writeFileSync(join(dir, 'env', 'A\nB\x1b'), 'x');
    expect(await reader.read(dir)).toEqual({ kind: 'errors', errors: ['web/env/A\\nB\\x1b: invalid variable name'] });
  });

  it('a folder named with a newline and ESC is named with escapes', async () => {
    const dir = folder('we\nb\x1b[31m');
    expect(await reader.read(dir)).toEqual({
      kind: 'errors',
      errors: [`we\\nb\\x1b[31m: invalid service name (allowed: ^[A-Za-z0-9][A-Za-z0-9._@-]*$)`],
    });
  });
});

describe('svrun and svctl with hostile files', () => {
  let sb!: Sandbox;
  withSandbox((s) => (sb = s));

  const svctl = (args: string[]) => sb.exec(process.execPath, [SVCTL, ...args], PROMPT_MS);
  const svrun = (args: string[]) => sb.exec(process.execPath, [SVRUN, ...args], PROMPT_MS);

  // one representative: each hostile kind of each file is the readService table above
  it.each(['fifo'] as const)('svrun with timeout-kill as %s exits 111 at once with one line', async (kind) => {
    const dir = sb.service('web', 'exec sleep 30');
    plant(join(dir, 'timeout-kill'), kind);
    const r = await svrun([dir]);
    expect(r.stderr).toBe(`svrun: web/timeout-kill: ${REASON[kind]}\n`);
    expect(r.code).toBe(111);
  });

  it('svrun with a numeric user out of range exits 111 (no crash loop)', async () => {
    const dir = sb.service('web', 'exec sleep 30', { user: '4294967295' });
    const r = await svrun([dir]);
    expect(r.stderr).toBe('svrun: web/user: expected a user id from 0 to 4294967294, got "4294967295"\n');
    expect(r.code).toBe(111);
  });

  it('svrun on a folder named with a newline and ESC prints one line', async () => {
    const dir = join(sb.scan, 'a\nb\x1b[31m');
    mkdirSync(dir);
    const r = await svrun([dir]);
    expect(r.stderr.split('\n')).toHaveLength(2); // one line and the final newline
    expect(r.stderr).not.toContain('\x1b');
    expect(r.stderr).toMatch(/^svrun: a\\nb\\x1b\[31m: invalid service name/);
    expect(r.code).toBe(111);
  });

  it.each([['status'], ['check']])('svctl %s returns at once with a FIFO as type', async (cmd) => {
    const dir = sb.service('web', 'exec sleep 30');
    plant(join(dir, 'type'), 'fifo');
    const r = await svctl([cmd]);
    expect(r.code).not.toBe(128); // not killed at the deadline
    expect(r.stdout).toMatch(/^web\b/m); // shown as not running (status and check do not validate)
  });

  it.each([
    ['up', 2, 'svctl: web/type: not a regular file (a FIFO)\n'],
    // stopping never waits on valid folders: down only warns
    ['down', 0, 'svctl: warning: web/type: not a regular file (a FIFO)'],
  ])('svctl %s returns at once with a FIFO as type, naming it once', async (cmd, code, line) => {
    const dir = sb.service('web', 'exec sleep 30');
    plant(join(dir, 'type'), 'fifo');
    const r = await svctl([cmd as string]);
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(line);
    expect(r.stderr.match(/web\/type/g)).toHaveLength(1);
  });

  it('svctl up with a settings file symlinked to /dev/zero returns at once (no 16 GB)', async () => {
    const dir = sb.service('web', 'exec sleep 30');
    plant(join(dir, 'requires'), 'dev-zero');
    const r = await svctl(['up', 'web']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('svctl: web/requires: not a regular file (a character device)\n');
  });

  it('svctl up: a requires naming 5,000 unknown services prints 6 lines, not 5,000', async () => {
    const names = Array.from({ length: 5000 }, (_, i) => `nosuch${i}`);
    sb.service('web', 'exec sleep 30', { requires: `${names.join('\n')}\n` });
    const r = await svctl(['up']);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      ...names.slice(0, 5).map((x) => `svctl: web/requires: unknown service "${x}"`),
      'svctl: web/requires: ... and 4995 more',
    ]);
  });

  it('svctl up on a scan directory with a folder named with a newline and ESC prints one line', async () => {
    mkdirSync(join(sb.scan, 'x\ny\x1b[2J'));
    const r = await svctl(['up']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('svctl: x\\ny\\x1b[2J: invalid service name (allowed: ^[A-Za-z0-9][A-Za-z0-9._@-]*$)\n');
  });

  it('svctl status with a FIFO as supervise/status.json returns at once', async () => {
    const dir = sb.service('web', 'exec sleep 30');
    plant(join(dir, 'supervise', 'status.json'), 'fifo');
    const r = await svctl(['status', 'web']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^web\b/m);
  });

  it('svrun starts over a FIFO left as supervise/status.json (read as corrupt, replaced)', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `exec ${m} 30`, { 'timeout-kill': '300' });
    const status = join(dir, 'supervise', 'status.json');
    plant(status, 'fifo');
    const child = sb.svrun([dir]);
    // the sandbox's status reader opens status.json in blocking mode: only once it is a file again
    await waitFor(() => lstatSync(status).isFile(), 'status.json replaced by a regular file');
    const s = await sb.waitRunning('web', m);
    expect(s.state).toBe('up');
    await sb.waitLog('web', /error: status: unreadable status\.json replaced \(not a regular file \(a FIFO\)\)/);
    child.kill('SIGTERM');
  });

  it('svctl logs with a FIFO as log/current returns at once, naming it', async () => {
    const dir = sb.service('web', 'exec sleep 30');
    plant(join(dir, 'log', 'current'), 'fifo');
    const r = await svctl(['logs', 'web']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('svctl: web/log/current: not a regular file (a FIFO)\n');
  });

  it('svctl logs reads only the tail of a 4 GiB log/current without a newline', async () => {
    const dir = sb.service('web', 'exec sleep 30');
    const current = join(dir, 'log', 'current');
    mkdirSync(join(dir, 'log'));
    writeFileSync(current, '');
    truncateSync(current, 4 * 1024 ** 3); // sparse: 4 GiB of NULs, no disk used
    writeFileSync(current, '\n2026-01-01T00:00:00.000Z out last line\n', { flag: 'a' });
    // two lines asked, one there: the other "line" is the 4 GiB of NULs, cut rather than read
    const r = await svctl(['logs', 'web', '-n', '2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('2026-01-01T00:00:00.000Z out last line\n');
  });
});
