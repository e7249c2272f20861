// Regressions from the reliability review of svrun: each case is one way a
// supervisor could run a service twice, leave something behind, lose lines,
// or hang; each runs the real thing.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitOf, isAlive, pidsByArgv0, pressCtrlCUntilExit, type Sandbox, SVRUN, taskReaperPid, waitFor, withSandbox } from '../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

describe('svrun robustness', () => {
  /** A `web` svrun stopped (Ctrl-Z) with its lock untouched for a minute and `spoil` done: a second svrun still exits 100. */
  const refusedWhileStopped = async (spoil: (dir: string) => void) => {
    const m = sb.marker('web');
    const dir = sb.service('web', `exec ${m} 1000`);
    const a = sb.svrun([dir]);
    await sb.waitRunning('web', m);
    a.kill('SIGSTOP');
    try {
      spoil(dir);
      const old = new Date(Date.now() - 60_000);
      utimesSync(join(dir, 'supervise', 'lock'), old, old); // as if it had not touched its lock for a minute
      const r = await sb.svrunSync([dir]);
      expect(r.code).toBe(100);
      expect(r.stderr).toBe(`svrun: web is already supervised by pid ${a.pid}\n`);
    } finally {
      a.kill('SIGCONT');
    }
    expect(pidsByArgv0(m)).toHaveLength(1);
  };

  it('a supervisor stopped (Ctrl-Z) past the lock staleness still owns its service: a second svrun exits 100', () =>
    refusedWhileStopped(() => {}));

  it('a stopped supervisor whose status.json is lost still owns its service: the lock names it, a second svrun exits 100', () =>
    // no owner in status.json and an old lock: only the lock's own owner file says who holds it
    refusedWhileStopped((dir) => rmSync(join(dir, 'supervise', 'status.json'))));

  it.each([
    ['removed', (lock: string) => rmSync(lock, { recursive: true })],
    [
      'replaced by a lock that names no one',
      (lock: string) => {
        rmSync(lock, { recursive: true });
        mkdirSync(lock);
      },
    ],
  ])("a lock %s behind svrun's back is taken back, the service untouched", async (_what, spoil) => {
    const m = sb.marker('web');
    const dir = sb.service('web', `exec ${m} 1000`);
    const a = sb.svrun([dir]);
    await sb.waitRunning('web', m);
    const lock = join(dir, 'supervise', 'lock');
    const owner = join(lock, 'owner');
    await waitFor(() => existsSync(owner), 'the lock to name its owner');
    const pid = sb.status('web')!.pid;
    spoil(lock);
    await waitFor(() => existsSync(owner) && readFileSync(owner, 'utf8').startsWith(`${a.pid} `), 'the lock taken back', 10_000);
    expect(sb.status('web')!.lastError).toMatch(/^lock: /);
    const r = await sb.svrunSync([dir]);
    expect(r.code).toBe(100);
    expect(isAlive(a.pid!)).toBe(true);
    expect(pidsByArgv0(m)).toEqual([pid]);
  });

  it('with a log/ logger, a failing oneshot still exits 1 and svrun cleans up after itself', async () => {
    const dir = sb.service('o', 'echo migrating; while [ ! -e go ]; do sleep 0.01; done; exit 3', {
      type: 'oneshot',
      'log/run': '#!/bin/sh\nexec cat >> out.txt\n',
    });
    const sv = sb.svrun([dir]);
    // its cgroup (where there is one) seen while run runs: its removal is checked below
    const running = await sb.waitStatus('o', (s) => s.state === 'starting' && s.pid !== null, 'run running', 10_000);
    if (running.cgroup) expect(existsSync(running.cgroup)).toBe(true);
    writeFileSync(join(dir, 'go'), '');
    expect(await exitOf(sv)).toBe(1);
    const st = sb.status('o')!;
    expect(st).toMatchObject({ state: 'failed', lastExit: { code: 3 } });
    expect(existsSync(join(dir, 'supervise', 'lock'))).toBe(false);
    if (st.cgroup) expect(existsSync(st.cgroup)).toBe(false);
    const out = readFileSync(join(dir, 'log', 'out.txt'), 'utf8');
    expect(out).toContain('migrating\n');
    expect(out).toContain('svrun: failed\n');
  });

  it('leftovers of a run whose main process had exited (group being stopped) are found by the next svrun', async () => {
    process.env.SVKIT_NO_CGROUP = '1'; // the process group is all there is to go by
    try {
      const g = sb.marker('stray');
      const m = sb.marker('main');
      const dir = sb.service('s', `sh -c "trap '' TERM; exec ${g} 1000" & ${m} 0.3; exit 1`, { 'timeout-kill': '1500' });
      const a = sb.svrun([dir]);
      const stopping = await sb.waitStatus('s', (x) => x.state === 'stopping', 'stopping what the run left');
      expect(stopping.pid).not.toBeNull();
      const [stray] = pidsByArgv0(g);
      a.kill('SIGKILL');
      await exitOf(a);
      expect(isAlive(stray)).toBe(true);
      sb.svrun([dir]);
      await waitFor(() => !isAlive(stray), 'the stray to be stopped by the new supervisor', 8000);
      await waitFor(() => pidsByArgv0(g).length === 1, 'the new run');
    } finally {
      delete process.env.SVKIT_NO_CGROUP;
    }
  });

  it('--log stdout loses no line and tears none when the reader is slow', async () => {
    const N = 100_000;
    const seq = sb.marker('f', 'seq');
    const dir = sb.service('f', `${seq} 1 ${N}; exec sleep 1000`);
    const sv = spawn(process.execPath, [SVRUN, '--log', 'stdout', dir], { env: sb.env, stdio: ['ignore', 'pipe', 'ignore'] });
    let text = '';
    sv.stdout.on('data', (d: Buffer) => (text += d.toString('latin1')));
    sv.stdout.pause();
    try {
      // nobody reads svrun's stdout: back-pressure reaches the service, which waits in write()
      // blocked in write(): on svrun's pipe (a socketpair: sock_alloc_send_pskb)
      await waitFor(
        () => pidsByArgv0(seq).some((p) => /pipe_write$|sock_alloc_send/.test(readFileSync(`/proc/${p}/wchan`, 'utf8'))),
        'seq to block on its output',
      );
      sv.stdout.resume();
      await waitFor(() => text.includes(`f | out ${N}\n`), 'the last line', 20_000);
      const lines = text.split('\n').filter((l) => l.startsWith('f | out '));
      expect(lines).toHaveLength(N);
      expect(lines.every((l, i) => l === `f | out ${i + 1}`)).toBe(true);
    } finally {
      sv.kill('SIGKILL');
    }
  });

  it('a logger crash-looping at shutdown is not started again on a closed pipe; svrun exits promptly', async () => {
    const dir = sb.service('c', 'while :; do echo tick; sleep 0.01; done', { 'log/run': '#!/bin/sh\nhead -n 3 >> out.txt\nexit 1\n' });
    const sv = sb.svrun([dir]);
    await sb.waitStatus('c', (s) => s.log?.state === 'backoff' && s.log.restarts >= 2, 'the logger in backoff');
    sv.kill('SIGTERM');
    expect(await exitOf(sv)).toBe(0);
    expect(sv.output()).not.toMatch(/Bad file descriptor/);
    expect(sb.status('c')).toMatchObject({ state: 'down' });
  });

  it('a second SIGINT during leftover cleanup kills at once', async () => {
    const m = sb.marker('stub');
    const dir = sb.service('st', `trap '' TERM; exec ${m} 1000`, { 'timeout-kill': '20000' });
    const a = sb.svrun([dir]);
    const st = await sb.waitRunning('st', m);
    // its task reaper first: the leftovers are the next svrun's (taskreaper.proc.test.ts has Ctrl-C while a reaper works)
    process.kill(await waitFor(() => taskReaperPid(dir), 'the task reaper'), 'SIGKILL');
    a.kill('SIGKILL');
    await exitOf(a);
    const b = sb.svrun([dir]);
    await sb.waitLog('st', /svrun stopping: SIGTERM\n$/);
    const t0 = Date.now();
    const code = await pressCtrlCUntilExit(b);
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(20_000); // at once: never timeout-kill's 20 s (how fast: bench)
    expect(isAlive(st.pid)).toBe(false);
  });
});
