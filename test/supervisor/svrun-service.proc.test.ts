// The rest of the service definition under a real svrun: readiness through
// notification-fd and check, oneshots, env/, user, down-signal.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitOf, pidsByArgv0, type Sandbox, waitFor, withSandbox } from '../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const isRoot = process.getuid?.() === 0;

describe('readiness', () => {
  it('notification-fd: starting until the service writes a line to fd N, then up with readyAt', async () => {
    const dir = sb.service('db', 'echo "fd=$SVKIT_NOTIFY_FD"; until [ -e go ]; do sleep 0.02; done; echo ready >&5; exec sleep 1000', {
      'notification-fd': '5',
    });
    sb.svrun([dir]);
    await sb.waitLog('db', / out fd=5\n/);
    expect(sb.status('db')).toMatchObject({ state: 'starting', readyAt: null });
    writeFileSync(join(dir, 'go'), '');
    const up = await sb.waitStatus('db', (s) => s.state === 'up', 'up');
    expect(Date.parse(up.readyAt!)).toBeGreaterThan(Date.parse(up.startedAt!));
    await sb.waitLog('db', / svrun started pid \d+\n(.*\n)*.* svrun ready\n/);
  });

  it('notification-fd closed without a line: never ready', async () => {
    const dir = sb.service('db', 'exec 3>&-; echo closed; exec sleep 1000', { 'notification-fd': '3' });
    sb.svrun([dir]);
    await sb.waitLog('db', / out closed\n/);
    expect(sb.status('db')).toMatchObject({ state: 'starting', readyAt: null });
    expect(sb.log('db')).not.toContain('svrun ready');
  });

  it('check: polled until it exits 0, in the service folder', async () => {
    const dir = sb.service('web', 'until [ -e go ]; do sleep 0.02; done; touch listening; exec sleep 1000', {
      check: '#!/bin/bash\necho checked >> checks.txt\n[ -e listening ]\n',
    });
    sb.svrun([dir]);
    await waitFor(
      () => existsSync(join(dir, 'checks.txt')) && readFileSync(join(dir, 'checks.txt'), 'utf8').split('\n').length > 2,
      'two checks',
    );
    expect(sb.status('web')).toMatchObject({ state: 'starting' });
    writeFileSync(join(dir, 'go'), '');
    const up = await sb.waitStatus('web', (s) => s.state === 'up', 'up via check');
    expect(up.readyAt).not.toBeNull();
  });

  it('a service that dies before it is ready is not ready', async () => {
    const dir = sb.service('db', 'exit 4', { 'notification-fd': '3', restart: 'never' });
    sb.svrun([dir]);
    const s = await sb.waitStatus('db', (x) => x.state === 'failed' && x.lastExit !== null, 'failed');
    expect(s.readyAt).toBeNull();
    expect(sb.log('db')).not.toContain('svrun ready');
  });
});

describe('oneshot', () => {
  it('runs once per up, is up when run exits 0, and stop undoes it', async () => {
    const dir = sb.service('mk', 'echo run >> runs.txt; touch flag', {
      type: 'oneshot',
      stop: '#!/bin/bash\nrm flag; pwd > stop.cwd\n',
    });
    const first = sb.svrun([dir]);
    expect(await exitOf(first)).toBe(0);
    const up = sb.status('mk')!;
    expect(up).toMatchObject({ type: 'oneshot', state: 'up', lastExit: { code: 0, signal: null } });
    expect(up.readyAt).not.toBeNull();
    expect(existsSync(join(dir, 'flag'))).toBe(true);

    expect(await exitOf(sb.svrun([dir]))).toBe(0); // its effect holds: not run again
    expect(readFileSync(join(dir, 'runs.txt'), 'utf8')).toBe('run\n');
    expect(sb.status('mk')!.state).toBe('up');

    expect(await exitOf(sb.svrun(['--want', 'down', dir]))).toBe(0);
    expect(sb.status('mk')!.state).toBe('down');
    expect(existsSync(join(dir, 'flag'))).toBe(false);
    expect(readFileSync(join(dir, 'stop.cwd'), 'utf8').trim()).toBe(dir);

    expect(await exitOf(sb.svrun([dir]))).toBe(0); // up again after down: runs again
    expect(readFileSync(join(dir, 'runs.txt'), 'utf8')).toBe('run\nrun\n');
    expect(sb.log('mk')).toMatch(/svrun started pid \d+\n(.*\n)*.*svrun exited 0\n.*svrun ready\n/);
  });

  it('a failing run: state failed with lastExit and lastError, svrun exits 1, never restarted', async () => {
    const dir = sb.service('bad', 'echo run >> runs.txt; echo "cannot migrate" >&2; exit 3', { type: 'oneshot' });
    const sv = sb.svrun([dir]);
    expect(await exitOf(sv)).toBe(1);
    expect(sb.status('bad')).toMatchObject({ state: 'failed', restarts: 0, lastExit: { code: 3 }, lastError: 'run exited 3' });
    expect(readFileSync(join(dir, 'runs.txt'), 'utf8')).toBe('run\n');
    await sb.waitLog('bad', / err cannot migrate\n/);
  });

  it('a failing stop leaves it failed, naming the stop', async () => {
    const dir = sb.service('o', 'true', { type: 'oneshot', stop: '#!/bin/bash\nexit 2\n' });
    expect(await exitOf(sb.svrun([dir]))).toBe(0);
    expect(await exitOf(sb.svrun(['--want', 'down', dir]))).toBe(1);
    expect(sb.status('o')).toMatchObject({ state: 'failed', lastError: 'stop exited 2' });
  });

  it('a oneshot still running when svrun gets SIGTERM is stopped and left down', async () => {
    const m = sb.marker('slow');
    const dir = sb.service('slow', `exec ${m} 1000`, { type: 'oneshot' });
    const sv = sb.svrun([dir]);
    await waitFor(() => pidsByArgv0(m).length === 1, 'the oneshot running');
    // status.json follows the spawn: wait for it, not just for the process
    await sb.waitStatus('slow', (s) => s.state === 'starting', 'starting');
    sv.kill('SIGTERM');
    expect(await exitOf(sv)).toBe(0);
    expect(sb.status('slow')!.state).toBe('down');
    expect(pidsByArgv0(m)).toEqual([]);
  });
});

describe('environment and identity', () => {
  it('env/ sets (first line, trailing blanks trimmed) and unsets (empty file); SVKIT_* describe the service', async () => {
    const dir = sb.service('e', 'env > env.tmp && mv env.tmp env.txt; exec sleep 1000', {
      'env/GREETING': 'hello world \t\nsecond line\n',
      'env/INHERITED': '',
      'down-signal': 'USR1',
      'timeout-kill': '1234',
    });
    process.env.INHERITED = 'from svrun';
    try {
      sb.svrun([dir]);
    } finally {
      delete process.env.INHERITED;
    }
    await waitFor(
      () => existsSync(join(dir, 'env.txt')) && readFileSync(join(dir, 'env.txt'), 'utf8').includes('SVKIT_SERVICE'),
      'env.txt',
    );
    const env = readFileSync(join(dir, 'env.txt'), 'utf8');
    expect(env).toContain('GREETING=hello world\n');
    expect(env).not.toContain('INHERITED=');
    expect(env).toContain('SVKIT_SERVICE=e\n');
    expect(env).toContain('SVKIT_DOWN_SIGNAL=SIGUSR1\n');
    expect(env).toContain('SVKIT_TIMEOUT_KILL=1234\n');
    expect(env).toContain(`SVKIT_TEST_TOKEN=${sb.token}\n`);
  });

  // one representative: the spellings of a down-signal are servicedir.test.ts's table
  it.each([['USR1']])('down-signal %s stops the service with that signal', async (sig) => {
    const dir = sb.service('d', `trap 'echo got-usr1; exit 0' USR1; touch trapped; while :; do sleep 0.02; done`, {
      'down-signal': sig,
      'timeout-kill': '20000',
    });
    const sv = sb.svrun([dir]);
    await waitFor(() => existsSync(join(dir, 'trapped')), 'the trap');
    sv.kill('SIGTERM');
    expect(await exitOf(sv)).toBe(0);
    expect(sb.status('d')).toMatchObject({ state: 'down', lastExit: { code: 0 } });
    expect(sb.log('d')).toMatch(/svrun stopping: SIGUSR1\n(.*\n)*.*out got-usr1\n/);
  });

  it.runIf(isRoot)('user: the service runs without root uid, gid or groups, with HOME, USER and LOGNAME (needs root)', async () => {
    const m = sb.marker('u');
    const dir = sb.service('u', `env > env.tmp && mv env.tmp env.txt; exec ${m} 1000`, { user: 'nobody' });
    // nobody must reach its run file and write next to it
    chmodSync(sb.dir, 0o755);
    chmodSync(sb.scan, 0o755);
    chmodSync(dir, 0o777);
    sb.svrun([dir]);
    const st = await sb.waitRunning('u', m);
    const status = readFileSync(`/proc/${st.pid}/status`, 'utf8');
    const field = (name: string) => (new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '').trim().split(/\s+/);
    expect(field('Uid')).toEqual(['65534', '65534', '65534', '65534']);
    expect(field('Gid').every((g) => g !== '0')).toBe(true);
    expect(field('Groups').includes('0')).toBe(false);
    const env = readFileSync(join(dir, 'env.txt'), 'utf8');
    expect(env).toMatch(/^USER=nobody$/m);
    expect(env).toMatch(/^LOGNAME=nobody$/m);
    expect(env).toMatch(/^HOME=\/nonexistent$/m);
  });

  it.runIf(isRoot)('user: an unknown user is an invalid definition, exit 111 (needs root)', async () => {
    const dir = sb.service('u', 'exec sleep 1000', { user: 'no-such-user-svkit' });
    const r = await sb.svrunSync([dir]);
    expect(r.code).toBe(111);
    expect(r.stderr).toBe('svrun: u/user: unknown user "no-such-user-svkit"\n');
  });
});
