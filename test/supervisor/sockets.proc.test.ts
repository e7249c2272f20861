// `listen` on real supervisors and real sockets: what `run` gets (fds 3, 4,
// ... and systemd's variables, LISTEN_PID its own pid whichever wrappers
// ran) and what finish and check do not; an address in use is an error
// retried with backoff until it is free; notification-fd on a listen fd is
// refused; unix sockets: a stale one replaced, anything else never touched,
// the file removed when supervision ends. And the client library's listenFds.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, type Sandbox, withSandbox } from '../helpers.js';
import { freePort, httpService } from '../sockets.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

/** Does this host have an IPv6 loopback to bind? */
const ipv6 = (() => {
  try {
    execFileSync(process.execPath, ['-e', "require('net').createServer().listen(0,'::1',function(){this.close()})"], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** What a script records of its environment and its socket descriptors: `LISTEN_FDS LISTEN_PID $$ LISTEN_FDNAMES | fd fd ...` */
const RECORD = (file: string) =>
  `echo "$LISTEN_FDS $LISTEN_PID $$ $LISTEN_FDNAMES | $(for f in /proc/$$/fd/*; do case "$(readlink $f)" in socket:*) printf '%s ' "\${f##*/}";; esac; done)" >> ${file}`;

const get = (opts: { port?: number; socketPath?: string }): Promise<string> =>
  new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', path: '/', agent: false, ...opts }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });

describe('listen: what run gets', () => {
  it.each([
    ['in its cgroup', {}],
    ['without a cgroup (SVKIT_NO_CGROUP=1: the wrapper only sets LISTEN_PID)', { SVKIT_NO_CGROUP: '1' }],
  ])("%s: fds 3 and 4 are the sockets, LISTEN_PID is run's own pid; check and finish get neither", async (_what, env) => {
    const port = await freePort();
    const addresses = ipv6 ? [`127.0.0.1:${port}`, `[::1]:${port}`] : [`127.0.0.1:${port}`, `127.0.0.1:${await freePort()}`];
    sb.service('web', `${RECORD(sb.path('run.txt'))}\nexec ${sb.marker('web')} 1000`, {
      listen: addresses.join('\n'),
      check: `#!/bin/bash\n${RECORD(sb.path('check.txt'))}\nexit 0\n`,
      finish: `#!/bin/bash\n${RECORD(sb.path('finish.txt'))}\n`,
      'timeout-kill': '500',
    });
    Object.assign(process.env, env);
    try {
      expect((await sb.svctl(['up', 'web'])).code).toBe(0);
    } finally {
      for (const k of Object.keys(env)) delete process.env[k];
    }
    const s = await sb.waitRunning('web', sb.marker('web'));
    const [vars, fds] = sb.lines('run.txt')[0]!.split(' | ');
    expect(vars).toBe(`2 ${s.pid} ${s.pid} web:web`);
    expect(fds!.trim()).toBe('3 4');
    // the service's own pid, after every wrapper exec'd: the process status.json names holds them
    expect(readlinkSync(`/proc/${s.pid}/fd/3`)).toMatch(/^socket:/);
    expect(sb.lines('check.txt')[0]).toMatch(/^ {2}\d+ {2}\| $/);
    expect((await sb.svctl(['down', 'web'])).code).toBe(0);
    expect(sb.lines('finish.txt')[0]).toMatch(/^ {2}\d+ {2}\| $/);
    expect(sb.status('web')!.settings).toMatchObject({ listen: addresses });
  });
});

describe('listen: an address in use', () => {
  it('is an error like a failed spawn (logged, lastError, retried with backoff) until it is free; then the service starts by itself', async () => {
    const port = await freePort();
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    try {
      httpService(sb, 'web', [`127.0.0.1:${port}`]);
      const r = await sb.svctl(['up', 'web', '-t', '1500']);
      expect(r.code).toBe(1);
      // (on a loaded machine svrun may not have tried yet when svctl gives up: the error is read from status.json below)
      expect(r.stderr, r.stderr).toMatch(/^svctl: web: not ready after \d+ ms \(state \w+\)/);
      const s = await sb.waitStatus('web', (st) => st.lastError !== null, 'the error recorded');
      expect(s.lastError).toBe(`listen: 127.0.0.1:${port}: bind: address in use`);
      expect(s.restarts).toBeGreaterThanOrEqual(1);
      await sb.waitLog(
        'web',
        new RegExp(`svrun error: listen: 127\\.0\\.0\\.1:${port}: bind: address in use\\n.* svrun restarting in \\d+ ms`),
      );
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
    await sb.waitStatus('web', (st) => st.state === 'up' && st.lastError === null, 'up once the port is free', 40_000);
    expect(await get({ port })).toMatch(/^\d+ \n$/);
    expect((await sb.svctl(['down', 'web'])).code).toBe(0);
  }, 60_000);
});

describe('listen: notification-fd on a listen fd', () => {
  it('svctl: exit 2, one line; svrun: exit 111, the same line', async () => {
    const dir = sb.service('web', 'exec sleep 1000', { listen: '127.0.0.1:1\n127.0.0.1:2', 'notification-fd': '4' });
    const line = 'web/notification-fd: 4 is taken by listen (its sockets are fds 3 to 4); use 5 or higher';
    expect(await sb.svctl(['up', 'web'])).toMatchObject({ code: 2, stdout: '', stderr: `svctl: ${line}\n` });
    expect(await sb.svrunSync([dir])).toMatchObject({ code: 111, stderr: `svrun: ${line}\n` });
    expect(existsSync(join(dir, 'supervise', 'status.json'))).toBe(false);
  });
});

describe('listen: unix sockets', () => {
  it('a stale socket is replaced; the socket is 0666 and serves; the file goes with the supervisor', async () => {
    const path = sb.path('web.sock');
    // a socket file nobody listens on: its server was SIGKILLed
    const stale = spawn(process.execPath, [
      '-e',
      "require('net').createServer().listen(process.argv[1], () => process.kill(process.pid, 'SIGKILL'))",
      path,
    ]);
    await new Promise((resolve) => stale.once('exit', resolve));
    expect(lstatSync(path).isSocket()).toBe(true);
    await expect(get({ socketPath: path })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    httpService(sb, 'web', [`unix:${path}`]);
    expect((await sb.svctl(['up', 'web'])).code).toBe(0);
    expect(lstatSync(path).mode & 0o777).toBe(0o666);
    expect(await get({ socketPath: path })).toMatch(/^\d+ \n$/);
    expect((await sb.svctl(['down', 'web'])).code).toBe(0);
    expect(existsSync(path)).toBe(false);
  });

  it.each([
    ['a regular file', (path: string) => writeFileSync(path, 'data\n'), /something that is not a socket is there; not replaced/],
    [
      'a symlink (to a file elsewhere)',
      (path: string) => symlinkSync(sb.path('target'), path),
      /a symlink is there; not followed, not replaced/,
    ],
    ['a symlink to nothing', (path: string) => symlinkSync(sb.path('nowhere'), path), /a symlink is there; not followed, not replaced/],
  ])('%s at the path: an error, retried; nothing touched', async (_what, plant, why) => {
    const path = sb.path('web.sock');
    writeFileSync(sb.path('target'), 'secret\n');
    plant(path);
    const before = lstatSync(path);
    sb.service('web', `exec ${sb.marker('web')} 1000`, { listen: `unix:${path}` });
    expect((await sb.svctl(['up', 'web', '-t', '800'])).code).toBe(1);
    const s = await sb.waitStatus('web', (st) => st.lastError !== null, 'the error recorded');
    expect(s.lastError).toMatch(why);
    expect(lstatSync(path)).toMatchObject({ ino: before.ino, mode: before.mode, size: before.size });
    expect(readFileSync(sb.path('target'), 'utf8')).toBe('secret\n');
    expect(existsSync(sb.path('nowhere'))).toBe(false);
    expect((await sb.svctl(['down', 'web'])).code).toBe(0);
    expect(lstatSync(path).ino).toBe(before.ino);
  });
});

describe('client: listenFds()', () => {
  const lib = join(ROOT, 'dist/src/client/index.js');
  const run = (env: Record<string, string>, pidOf: 'self' | 'other') =>
    execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `${pidOf === 'self' ? 'process.env.LISTEN_PID = String(process.pid);' : ''} const { listenFds } = await import(${JSON.stringify(lib)});` +
          `const a = listenFds(); const b = listenFds(); console.log(JSON.stringify([a, b, process.env.LISTEN_FDS ?? null, process.env.LISTEN_PID ?? null, process.env.LISTEN_FDNAMES ?? null]));`,
      ],
      { env: { ...process.env, ...env }, encoding: 'utf8' },
    );

  it.each<[string, Record<string, string>, 'self' | 'other', number[]]>([
    ['for this process: fds 3..', { LISTEN_FDS: '2', LISTEN_FDNAMES: 'web:web' }, 'self', [3, 4]],
    ["for another process (a parent's, inherited): none", { LISTEN_FDS: '2', LISTEN_PID: '1' }, 'other', []],
    ['no LISTEN_FDS: none', {}, 'self', []],
    ['a LISTEN_FDS that is not a number: none', { LISTEN_FDS: 'two' }, 'self', []],
  ])('%s; the variables removed; the same list again', (_what, env, pidOf, fds) => {
    const [a, b, ...vars] = JSON.parse(run(env, pidOf)) as unknown[];
    expect([a, b, vars]).toEqual([fds, fds, [null, null, null]]);
  });
});
