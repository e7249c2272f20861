// The Node client library (src/client/index.ts) in real Node processes: tiny
// fixture scripts import the built library, run with the SVKIT_* variables
// svrun sets and a real pipe at the notification fd, and are signalled once
// they say they are set up. One test runs a service under the real svrun.
import { type ChildProcess, spawn, type StdioOptions } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exitOf, ROOT, Sandbox, waitFor } from '../helpers.js';

const LIB = join(ROOT, 'dist/src/client/index.js');
const API = join(ROOT, 'services.example/api');

interface Fixture {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** stdout's lines so far */
  lines: () => string[];
  /** Waits for a stdout line starting with `prefix`; returns it. */
  line: (prefix: string, ms?: number) => Promise<string>;
  /** Resolves when the child has exited and its pipes are closed. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let tmp: string;
let children: ChildProcess[] = [];
let count = 0;

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'svkit-client-'));
});
afterEach(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children = [];
  rmSync(tmp, { recursive: true, force: true });
});

/** The environment svrun would give, without any SVKIT_* of our own. */
const cleanEnv = (vars: Record<string, string>): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('SVKIT_')) delete env[k];
  return { ...env, ...vars };
};

const watch = (child: ChildProcess): Fixture => {
  children.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const lines = () => out.split('\n').filter((l) => l !== '');
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once('close', (code, signal) => res({ code, signal })),
  );
  const line = (prefix: string, ms = 5000) =>
    waitFor(
      () => lines().find((l) => l.startsWith(prefix)),
      () => `line "${prefix}" (stdout: ${JSON.stringify(out)}, stderr: ${JSON.stringify(err)})`,
      ms,
      5,
    );
  return { child, stdout: () => out, stderr: () => err, lines, line, done };
};

/** Runs `body` as an ES module that has imported the library; `notifyFd` adds a pipe at that fd. */
const start = (body: string, opts: { env?: Record<string, string>; notifyFd?: number; stdin?: boolean } = {}): Fixture => {
  const file = join(tmp, `fixture${++count}.mjs`);
  const imports = 'ready, onShutdown, quitRequested, sleep, session, ShutdownError';
  writeFileSync(file, `import { ${imports} } from ${JSON.stringify(pathToFileURL(LIB).href)};\n${body}\n`);
  const stdio: StdioOptions = [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'];
  if (opts.notifyFd !== undefined) {
    while (stdio.length < opts.notifyFd) stdio.push('ignore');
    stdio.push('pipe');
  }
  return watch(spawn(process.execPath, [file], { cwd: tmp, env: cleanEnv(opts.env ?? {}), stdio }));
};

/** Everything read from a stream until its end. */
const readAll = (stream: Readable): Promise<string> =>
  new Promise((res) => {
    let text = '';
    stream.on('data', (d: Buffer) => (text += d.toString()));
    stream.on('end', () => res(text));
    stream.on('error', () => res(text));
  });

const afterLine = (f: Fixture, line: string): string[] => f.lines().slice(f.lines().indexOf(line) + 1);

const KEEP_ALIVE = "setInterval(() => {}, 1000); console.log('started');";

describe('ready()', () => {
  it.each([3, 5])('writes one line to fd %i, closes it, and unsets $SVKIT_NOTIFY_FD', async (fd) => {
    const f = start(`ready(); ready(); console.log('env', process.env.SVKIT_NOTIFY_FD ?? 'unset'); ${KEEP_ALIVE}`, {
      env: { SVKIT_NOTIFY_FD: String(fd) },
      notifyFd: fd,
    });
    const text = await readAll(f.child.stdio[fd] as Readable);
    expect(text).toBe('ready\n');
    await f.line('started');
    expect(f.child.exitCode).toBeNull(); // the end came from close(), not from the exit
    expect(f.lines()).toContain('env unset');
  });

  it('is a no-op without $SVKIT_NOTIFY_FD, and does not touch signal handling', async () => {
    const f = start(`ready(); ${KEEP_ALIVE}`, { notifyFd: 3 });
    const text = readAll(f.child.stdio[3] as Readable);
    await f.line('started');
    f.child.kill('SIGTERM');
    expect(await f.done).toEqual({ code: null, signal: 'SIGTERM' }); // Node's default: no handler installed
    expect(await text).toBe('');
  });

  it.each(['900', 'abc', '1'])('never throws nor writes on a bad fd: SVKIT_NOTIFY_FD=%s', async (value) => {
    const f = start(`ready(); console.log('survived');`, { env: { SVKIT_NOTIFY_FD: value } });
    expect(await f.done).toEqual({ code: 0, signal: null });
    expect(f.lines()).toEqual(['survived']);
    expect(f.stderr()).toBe('');
  });

  it('never throws when the supervisor closed its end (EPIPE)', async () => {
    const body = `process.stdin.once('data', () => { ready(); console.log('survived'); process.exit(0); }); console.log('started');`;
    const f = start(body, { env: { SVKIT_NOTIFY_FD: '3' }, notifyFd: 3, stdin: true });
    await f.line('started');
    (f.child.stdio[3] as Readable).destroy();
    (f.child.stdin as Writable).write('go\n');
    expect(await f.done).toEqual({ code: 0, signal: null });
    expect(f.lines()).toContain('survived');
  });

  it('importing the library installs nothing: SIGTERM still kills', async () => {
    const f = start(KEEP_ALIVE);
    await f.line('started');
    f.child.kill('SIGTERM');
    expect((await f.done).signal).toBe('SIGTERM');
  });
});

describe('onShutdown()', () => {
  const handlers = `
onShutdown(function first() { console.log('first'); });
onShutdown(async function second() { await new Promise((r) => setTimeout(r, 50)); console.log('second'); });
onShutdown(() => { console.log('third'); });
${KEEP_ALIVE}`;

  it.each([
    ['SIGTERM', undefined],
    ['SIGINT', undefined],
    ['SIGUSR1', 'SIGUSR1'],
    ['SIGUSR2', 'USR2'],
    ['SIGHUP', 'hup'],
  ] as const)('on %s ($SVKIT_DOWN_SIGNAL=%s) runs the handlers newest first, awaited, then exits 0', async (signal, down) => {
    const f = start(handlers, { env: down ? { SVKIT_DOWN_SIGNAL: down } : {} });
    await f.line('started');
    f.child.kill(signal);
    expect(await f.done).toEqual({ code: 0, signal: null });
    expect(afterLine(f, 'started')).toEqual(['third', 'second', 'first']);
    expect(f.stderr()).toBe('');
  });

  it('past the deadline exits 1 naming the running handler; the smallest timeoutMs wins', async () => {
    const f = start(
      `onShutdown(function never() { console.log('never'); }, { timeoutMs: 20000 });
onShutdown(function closeDb() { console.log('closing'); return new Promise(() => {}); }, { timeoutMs: 300 });
${KEEP_ALIVE}`,
      { env: { SVKIT_TIMEOUT_KILL: '20000' } },
    );
    await f.line('started');
    const t0 = Date.now();
    f.child.kill('SIGTERM');
    expect(await f.done).toEqual({ code: 1, signal: null });
    expect(Date.now() - t0).toBeLessThan(20_000); // the 300 ms deadline, not the 20 s one (how fast: bench)
    expect(f.stderr()).toMatch(/^svkit: shutdown: handler "closeDb" still running after \d+ ms\n/);
    expect(f.stderr()).toContain('svkit: shutdown: 1 onShutdown handler(s) not run\n');
    expect(afterLine(f, 'started')).toEqual(['closing']);
  });

  it('takes the deadline from $SVKIT_TIMEOUT_KILL minus 500 ms, and names an anonymous handler by number', async () => {
    // Once the sleep is cancelled nothing keeps the loop alive but the library's
    // own deadline timer: without it, Node would exit 0 on a pending promise.
    const f = start(`onShutdown(() => {}); onShutdown(() => new Promise(() => {})); console.log('started'); await sleep(60000);`, {
      env: { SVKIT_TIMEOUT_KILL: '1000' },
    });
    await f.line('started');
    f.child.kill('SIGTERM');
    expect(await f.done).toEqual({ code: 1, signal: null });
    const ms = Number(/handler #2 still running after (\d+) ms/.exec(f.stderr())?.[1]);
    expect(ms).toBeGreaterThanOrEqual(500);
    expect(ms).toBeLessThan(5000); // 1000 - 500, not the default 5000
  });

  it('reports a throwing handler, runs the others, and exits 1', async () => {
    const f = start(
      `onShutdown(function a() { console.log('a'); });
onShutdown(async function b() { throw new Error('boom'); });
onShutdown(function c() { console.log('c'); throw 'plain'; });
${KEEP_ALIVE}`,
    );
    await f.line('started');
    f.child.kill('SIGTERM');
    expect(await f.done).toEqual({ code: 1, signal: null });
    expect(afterLine(f, 'started')).toEqual(['c', 'a']);
    expect(f.stderr()).toBe('svkit: shutdown: handler "c" failed: plain\nsvkit: shutdown: handler "b" failed: boom\n');
  });

  it('a second signal during shutdown does not restart the sequence', async () => {
    const f = start(
      `onShutdown(async function slow() { console.log('slow start'); await new Promise((r) => setTimeout(r, 200)); console.log('slow end'); });
${KEEP_ALIVE}`,
    );
    await f.line('started');
    f.child.kill('SIGTERM');
    await f.line('slow start');
    f.child.kill('SIGTERM');
    f.child.kill('SIGINT');
    expect(await f.done).toEqual({ code: 0, signal: null });
    expect(afterLine(f, 'started')).toEqual(['slow start', 'slow end']);
  });

  it('rejects a bad handler or timeout with a TypeError', async () => {
    const f = start(`
for (const args of [['x'], [() => {}, { timeoutMs: 0 }], [() => {}, { timeoutMs: 'soon' }]]) {
  try { onShutdown(...args); console.log('accepted'); } catch (err) { console.log(err.constructor.name, err.message); }
}`);
    expect(await f.done).toEqual({ code: 0, signal: null });
    expect(f.lines()).toEqual([
      'TypeError Expected a function, got `x` (string)',
      'TypeError Expected the `timeoutMs` option to be a positive number of milliseconds, got `0` (number)',
      'TypeError Expected the `timeoutMs` option to be a positive number of milliseconds, got `soon` (string)',
    ]);
  });
});

describe('sleep() and quitRequested()', () => {
  it('sleep resolves true when it ran out, false at once on a stop; the loop then ends the process itself', async () => {
    const f = start(`
console.log('before', quitRequested());
console.log('short', await sleep(20));
console.log('started');
console.log('long', await sleep(60000), quitRequested());
console.log('again', await sleep(Infinity));
console.log('bad', await sleep(-1).catch((err) => err.constructor.name));`);
    await f.line('started');
    f.child.kill('SIGTERM');
    expect(await f.done).toEqual({ code: 0, signal: null });
    // 'long false': the 60 s sleep was cut short by the stop request
    expect(f.lines()).toEqual(['before false', 'short true', 'started', 'long false true', 'again false', 'bad TypeError']);
    expect(f.stderr()).toBe('');
  });

  it('quitRequested alone installs the handling: a polling loop stops cleanly', async () => {
    const f = start(`
if (!quitRequested()) console.log('not yet');
const timer = setInterval(() => { if (quitRequested()) { clearInterval(timer); console.log('bye'); } }, 10);
console.log('started');`);
    await f.line('started');
    f.child.kill('SIGINT');
    expect(await f.done).toEqual({ code: 0, signal: null });
    expect(afterLine(f, 'started')).toEqual(['bye']);
  });

  it('a program that ignores the stop is ended at the deadline, with a line on stderr', async () => {
    const f = start(`await sleep(0); ${KEEP_ALIVE}`, { env: { SVKIT_TIMEOUT_KILL: '600', SVKIT_DOWN_SIGNAL: 'SIGUSR2' } });
    await f.line('started');
    f.child.kill('SIGUSR2');
    expect(await f.done).toEqual({ code: 1, signal: null });
    expect(f.stderr()).toMatch(/^svkit: shutdown: process still running \d+ ms after SIGUSR2 \(/);
  });
});

describe('session()', () => {
  it('on a stop refuses new sessions, awaits running ones, then runs the handlers', async () => {
    const f = start(`
onShutdown(function close() { console.log('handler'); });
session('job 1', async () => { console.log('job started'); await new Promise((r) => setTimeout(r, 300)); console.log('job done'); return 42; })
  .then((v) => console.log('job result', v));
process.on('SIGTERM', () => {
  session('late', async () => { console.log('late ran'); })
    .catch((err) => console.log('late refused', err.code, err instanceof ShutdownError, err.message));
  session('late promise', Promise.reject(new Error('x'))).catch(() => console.log('late promise refused'));
});
${KEEP_ALIVE}`);
    await f.line('job started');
    await f.line('started');
    f.child.kill('SIGTERM');
    expect(await f.done).toEqual({ code: 0, signal: null });
    const after = afterLine(f, 'started');
    expect(after).toEqual([
      'late refused svkit.shutdown true svkit: session "late" refused: shutdown in progress',
      'late promise refused',
      'job done',
      'job result 42',
      'handler',
    ]);
    expect(f.stderr()).toBe('');
  });

  it('with sessions and no handler, exits 0 once they are done (a failed session is not a failed stop)', async () => {
    const f = start(`
session('idle', async () => {});
session('job', () => new Promise((r) => setTimeout(r, 200))).then(() => console.log('job done'));
session('failing', async () => { await new Promise((r) => setTimeout(r, 50)); throw new Error('job failed'); })
  .catch((err) => console.log('caught', err.message));
${KEEP_ALIVE}`);
    await f.line('started');
    f.child.kill('SIGTERM');
    expect(await f.done).toEqual({ code: 0, signal: null });
    expect(afterLine(f, 'started')).toEqual(['caught job failed', 'job done']);
  });

  it('names a session still running at the deadline and exits 1 without running the handlers', async () => {
    const f = start(
      `onShutdown(function close() { console.log('handler ran'); });
session('job 42', () => new Promise(() => {}));
session('job 43', () => new Promise((r) => setTimeout(r, 50)));
${KEEP_ALIVE}`,
      { env: { SVKIT_TIMEOUT_KILL: '900' } },
    );
    await f.line('started');
    f.child.kill('SIGTERM');
    expect(await f.done).toEqual({ code: 1, signal: null });
    expect(f.stderr()).toMatch(
      /^svkit: shutdown: session "job 42" still running after \d+ ms\nsvkit: shutdown: 1 onShutdown handler\(s\) not run\n$/,
    );
    expect(afterLine(f, 'started')).toEqual([]);
  });
});

describe('services.example/api (imports "svkit" by the package self-reference)', () => {
  const request = (port: number, path: string): Promise<{ status: number; body: Promise<string> }> =>
    new Promise((res, rej) => {
      get({ host: '127.0.0.1', port, path, agent: false }, (r) => res({ status: r.statusCode ?? 0, body: readAll(r) })).on('error', rej);
    });

  it('is ready once listening, lets a running request finish on SIGTERM, refuses new ones, exits 0', async () => {
    const f = watch(
      spawn(process.execPath, ['./server.mjs'], {
        cwd: API,
        env: cleanEnv({ PORT: '0', SVKIT_NOTIFY_FD: '3' }),
        stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      }),
    );
    expect(await readAll(f.child.stdio[3] as Readable)).toBe('ready\n');
    const port = Number(/:(\d+)$/.exec(await f.line('api: listening on'))?.[1]);
    const hello = await request(port, '/');
    expect([hello.status, await hello.body]).toEqual([200, 'hello from api\n']);
    const slow = await request(port, '/slow?ms=400'); // headers arrive at once, the body after 400 ms
    f.child.kill('SIGTERM');
    await waitFor(async () => (await request(port, '/')).status === 503, 'a 503 while stopping');
    expect(await slow.body).toBe('slow hello from api\n');
    expect(await f.done).toEqual({ code: 0, signal: null });
    expect(f.stderr()).toBe('');
    expect(f.lines().filter((l) => /^api: GET \/slow\?ms=400 200 \(\d+ ms\)$/.test(l))).toHaveLength(1);
  });
});

describe('under svrun', () => {
  let sb: Sandbox;
  beforeEach(() => {
    sb = new Sandbox();
  });
  afterEach(async () => {
    await sb.cleanup();
  });

  it('ready() makes the service up with readyAt; the down-signal runs onShutdown and the exit is 0', async () => {
    const dir = join(sb.scan, 'nodesvc');
    mkdirSync(dir);
    sb.write(dir, 'run', `#!/bin/sh\nexec ${process.execPath} svc.mjs\n`);
    sb.write(dir, 'notification-fd', '3');
    sb.write(dir, 'down-signal', 'USR1'); // Node's default for SIGUSR1 starts the inspector: only the library stops it
    sb.write(
      dir,
      'svc.mjs',
      `import { writeFileSync } from 'node:fs';
import { onShutdown, ready } from ${JSON.stringify(pathToFileURL(LIB).href)};
onShutdown(async function saveState() {
  await new Promise((r) => setTimeout(r, 50));
  writeFileSync('shutdown.txt', process.env.SVKIT_DOWN_SIGNAL + ' ' + process.env.SVKIT_TIMEOUT_KILL + '\\n');
});
setTimeout(ready, 100);
setInterval(() => {}, 1000);
`,
    );
    const sv = sb.svrun([dir]);
    const up = await sb.waitStatus('nodesvc', (s) => s.state === 'up' && s.readyAt !== null, 'up and ready');
    expect(Date.parse(up.readyAt!) - Date.parse(up.startedAt!)).toBeGreaterThanOrEqual(90);
    sv.kill('SIGTERM');
    expect(await exitOf(sv)).toBe(0);
    expect(readFileSync(join(dir, 'shutdown.txt'), 'utf8')).toBe('SIGUSR1 7000\n');
    const st = sb.status('nodesvc');
    expect(st?.lastExit).toMatchObject({ code: 0, signal: null });
  });
});
