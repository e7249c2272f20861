// svrun as a real process on temp service folders: start, restart, backoff,
// policies, finish, stop and kill, leftovers after a SIGKILL, the lock, the
// control FIFO. Assertions wait for status.json, /proc and files.
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { control, exitOf, isAlive, pidsByArgv0, procStat, type Sandbox, taskReaperPid, waitFor, withSandbox } from '../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

describe('svrun: start and restart', () => {
  it('starts run in its own session and process group, with stdin /dev/null and cwd the service folder', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `readlink /proc/self/fd/0 > stdin.txt; pwd > cwd.txt; exec ${m} 1000`);
    const sv = sb.svrun([dir]);
    const st = await sb.waitStatus('web', (s) => s.state === 'up', 'up');
    const ps = procStat(st.pid!)!;
    expect(ps.pgid).toBe(st.pid);
    expect(ps.ppid).toBe(sv.pid);
    expect(st.pidStart).toBe(ps.start);
    expect(st.supervisor?.pid).toBe(sv.pid);
    // ready once run itself was exec'd (past svrun's own wrappers), a few ms after the spawn
    expect(Date.parse(st.readyAt!)).toBeGreaterThanOrEqual(Date.parse(st.startedAt!));
    expect(readFileSync(join(dir, 'supervise', 'pid'), 'utf8').trim()).toBe(String(st.pid));
    // written by the service after stdin.txt; the file exists (empty) a moment before its line
    await waitFor(() => existsSync(join(dir, 'cwd.txt')) && readFileSync(join(dir, 'cwd.txt'), 'utf8').endsWith('\n'), 'cwd.txt');
    expect(readFileSync(join(dir, 'cwd.txt'), 'utf8').trim()).toBe(dir);
    expect(readFileSync(join(dir, 'stdin.txt'), 'utf8').trim()).toBe('/dev/null');
    // the log is written after status.json: wait for the line, then check the order
    expect(await sb.waitLog('web', /svrun ready\n/)).toMatch(new RegExp(`^\\S+Z svrun started pid ${st.pid}\\n\\S+Z svrun ready\\n`));
  });

  it('restarts a crashed service at once and records the exit', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `exec ${m} 1000`);
    sb.svrun([dir]);
    const first = await sb.waitRunning('web', m);
    process.kill(first.pid!, 'SIGKILL');
    const second = await sb.waitStatus('web', (s) => s.state === 'up' && s.pid !== first.pid, 'restarted');
    expect(second.restarts).toBe(1);
    expect(second.lastExit).toMatchObject({ code: null, signal: 'SIGKILL' });
    // at once: no backoff was scheduled (the reaction time itself is the bench's)
    expect(Date.parse(second.startedAt!)).toBeGreaterThanOrEqual(Date.parse(second.lastExit!.at));
    await sb.waitLog('web', / svrun killed by SIGKILL\n.* svrun restarting in 0 ms\n/);
    await sb.waitRunning('web', m);
    expect(pidsByArgv0(m)).toEqual([second.pid]);
  });

  it('backs off repeated short runs: 0, 100, 200, 400 ms between starts', async () => {
    const dir = sb.service('flap', 'exit 3');
    sb.svrun([dir]);
    const delays: number[] = [];
    // each status.json svrun writes is read as it appears (waitStatus watches supervise/)
    await sb.waitStatus(
      'flap',
      (s) => {
        if (s.state === 'backoff' && s.nextStartAt && s.lastExit) {
          const d = Date.parse(s.nextStartAt) - Date.parse(s.lastExit.at);
          if (delays.at(-1) !== d) delays.push(d);
        }
        return delays.length >= 3;
      },
      'three backoff periods',
      8000,
    );
    expect(delays.slice(0, 3)).toEqual([100, 200, 400]);
    const log = sb.log('flap');
    expect(log).toContain('svrun restarting in 0 ms');
    expect(log).toMatch(/svrun restarting in 100 ms\n[^\n]*svrun started pid/);
    // bounded: after 0+100+200+400 ms of backoff there cannot be more than a handful of runs
    expect(sb.status('flap')!.restarts).toBeLessThanOrEqual(5);
  });

  // one representative: each policy and exit is state.test.ts's table (restart: the crash above; down: finish below)
  it.each([['never', 'kill -9 $$', 'failed']])('restart %s after `%s`: %s', async (policy, body, outcome) => {
    const dir = sb.service('svc', `echo run >> runs.txt; ${body}`, { restart: policy });
    const sv = sb.svrun([dir]);
    if (outcome === 'restart') {
      await sb.waitStatus('svc', (s) => s.restarts >= 1, 'a restart');
    } else {
      const s = await sb.waitStatus('svc', (x) => x.state === outcome && x.lastExit !== null, outcome);
      expect(s.restarts).toBe(0);
      expect(s.pid).toBeNull();
      await sb.waitLog('svc', new RegExp(` svrun ${outcome}\n`));
      expect(readFileSync(join(dir, 'runs.txt'), 'utf8')).toBe('run\n');
      expect(isAlive(sv.pid)).toBe(true);
    }
  });
});

describe('svrun: finish', () => {
  // one representative: finish's arguments for each exit are state.test.ts's table
  it.each([['kill -9 $$', '-1 9', { code: null, signal: 'SIGKILL' }]])(
    'after `%s` runs ./finish %s in the service folder',
    async (body, args, lastExit) => {
      const dir = sb.service('f', body, { restart: 'never', finish: '#!/bin/bash\necho "$@" > finish.args\n' });
      sb.svrun([dir]);
      await sb.waitStatus('f', (s) => (s.state === 'down' || s.state === 'failed') && s.lastExit !== null, 'the end state');
      expect(readFileSync(join(dir, 'finish.args'), 'utf8').trim()).toBe(args);
      expect(sb.status('f')!.lastExit).toMatchObject(lastExit);
    },
  );

  it('finish exiting 125 stops restarts and ends failed', async () => {
    const dir = sb.service('f', 'exit 0', { finish: '#!/bin/bash\nexit 125\n' });
    sb.svrun([dir]);
    const s = await sb.waitStatus('f', (x) => x.state === 'failed' && x.lastExit !== null, 'failed');
    expect(s.restarts).toBe(0);
  });

  it('a finish that overruns timeout-finish is killed with its group', async () => {
    const m = sb.marker('fin');
    const dir = sb.service('f', 'exit 0', {
      restart: 'never',
      'timeout-finish': '1000', // long enough for bash to record its pids on a loaded machine
      // its pids on record before it runs on: "gone" below means killed, not never started
      finish: `#!/bin/bash\n${m} 1000 &\necho "$! $$" > finish.pids\nexec ${m} 1000\n`,
    });
    sb.svrun([dir]);
    await sb.waitStatus('f', (x) => x.state === 'down' && x.lastExit !== null, 'down after the finish timeout');
    await sb.waitLog('f', /svrun error: finish: killed after 1000 ms\n.*svrun down\n/);
    const pids = readFileSync(join(dir, 'finish.pids'), 'utf8').trim().split(' ').map(Number);
    expect(pids).toHaveLength(2);
    await waitFor(() => pids.every((p) => !isAlive(p)) && pidsByArgv0(m).length === 0, 'finish processes gone');
  });
});

describe('svrun: stopping', () => {
  it('a service ignoring its down-signal is killed after timeout-kill, grandchildren included', async () => {
    const m = sb.marker('stub');
    const g = sb.marker('grand');
    const dir = sb.service('st', `trap '' TERM; ${g} 1000 & exec ${m} 1000`, { 'timeout-kill': '300' });
    sb.svrun([dir]);
    const up = await sb.waitRunning('st', m);
    await waitFor(() => pidsByArgv0(g).length === 1, 'grandchild running');
    const t0 = Date.now();
    control(dir, 'd');
    await sb.waitStatus('st', (s) => s.state === 'stopping', 'stopping');
    const down = await sb.waitStatus('st', (s) => s.state === 'down', 'down', 5000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(down.lastExit).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect(isAlive(up.pid)).toBe(false);
    expect(pidsByArgv0(m)).toEqual([]);
    expect(pidsByArgv0(g)).toEqual([]);
    await sb.waitLog('st', /svrun stopping: SIGTERM\n.*svrun killed after 300 ms\n/);
  });

  it.each([['cgroup'], ['process group']])('stop leaves no grandchild behind (%s)', async (mode) => {
    if (mode === 'process group') process.env.SVKIT_NO_CGROUP = '1';
    try {
      const g = sb.marker('grand');
      const dir = sb.service('web', `${g} 1000 & ${g} 1001 & exec ${sb.marker('web')} 1000`);
      const sv = sb.svrun([dir]);
      const st = await sb.waitStatus('web', (s) => s.state === 'up', 'up');
      if (mode === 'cgroup' && st.cgroup === null) return; // no writable cgroup v2 here: covered by the other case
      if (mode === 'process group') expect(st.cgroup).toBeNull();
      await waitFor(() => pidsByArgv0(g).length === 2, 'grandchildren running');
      sv.kill('SIGTERM');
      expect(await exitOf(sv)).toBe(0);
      expect(pidsByArgv0(g)).toEqual([]);
    } finally {
      delete process.env.SVKIT_NO_CGROUP;
    }
  });

  it('with a cgroup, even a grandchild that left the process group (setsid) is stopped', async (ctx) => {
    const g = sb.marker('escapee');
    const dir = sb.service('web', `setsid ${g} 1000 & exec ${sb.marker('web')} 1000`);
    const sv = sb.svrun([dir]);
    const st = await sb.waitStatus('web', (s) => s.state === 'up', 'up');
    if (st.cgroup === null) ctx.skip('needs a writable cgroup v2 hierarchy');
    const [esc] = await waitFor(() => (pidsByArgv0(g).length === 1 ? pidsByArgv0(g) : null), 'escapee running');
    expect(procStat(esc!)!.pgid).not.toBe(st.pid);
    expect(existsSync(st.cgroup!)).toBe(true); // removed below, so seen here
    sv.kill('SIGTERM');
    expect(await exitOf(sv)).toBe(0);
    expect(pidsByArgv0(g)).toEqual([]);
    expect(existsSync(st.cgroup!)).toBe(false);
  });

  it('a main process that exits leaves no group member running before the restart', async () => {
    const g = sb.marker('daemon');
    const dir = sb.service('d', `${g} 1000 & while [ ! -e go ]; do sleep 0.01; done; exit 1`, { restart: 'never' });
    sb.svrun([dir]);
    // run waits on the gate: a generous deadline costs nothing and covers a slow start of svrun
    await waitFor(() => pidsByArgv0(g).length === 1, 'the daemon running', 10_000);
    writeFileSync(join(dir, 'go'), '');
    await sb.waitStatus('d', (s) => s.state === 'failed', 'failed');
    expect(pidsByArgv0(g)).toEqual([]);
  });

  it.each([['SIGTERM'], ['SIGINT'], ['SIGHUP'], ['SIGQUIT']] as const)(
    '%s to svrun: stop, finish, final status, lock released, exit 0',
    async (sig) => {
      const m = sb.marker('web');
      const dir = sb.service('web', `exec ${m} 1000`, { finish: '#!/bin/bash\necho "$@" > finish.args\n' });
      const sv = sb.svrun([dir]);
      await sb.waitRunning('web', m);
      sv.kill(sig);
      expect(await exitOf(sv)).toBe(0);
      expect(pidsByArgv0(m)).toEqual([]);
      expect(readFileSync(join(dir, 'finish.args'), 'utf8').trim()).toMatch(/^-1 15$/);
      expect(sb.status('web')).toMatchObject({ state: 'down', want: 'down', pid: null });
      expect(readFileSync(join(dir, 'supervise', 'pid'), 'utf8')).toBe('');
      expect(existsSync(join(dir, 'supervise', 'lock'))).toBe(false);
      expect(sb.log('web')).toMatch(/svrun stopping: SIGTERM\n.*svrun killed by SIGTERM\n.*svrun down\n$/);
    },
  );

  it('a second SIGINT kills the group at once', async () => {
    const m = sb.marker('stub');
    const dir = sb.service('st', `trap '' TERM; exec ${m} 1000`, { 'timeout-kill': '20000' });
    const sv = sb.svrun([dir]);
    await sb.waitRunning('st', m);
    sv.kill('SIGINT');
    await sb.waitStatus('st', (s) => s.state === 'stopping', 'stopping');
    sv.kill('SIGINT');
    expect(await exitOf(sv)).toBe(0);
    expect(pidsByArgv0(m)).toEqual([]);
    expect(sb.status('st')!.state).toBe('down');
  });
});

describe('svrun: one supervisor, one service', () => {
  it('a second svrun exits 100 naming the first and changes nothing', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `exec ${m} 1000`);
    const sv = sb.svrun([dir]);
    const st = await sb.waitRunning('web', m);
    const r = await sb.svrunSync([dir]);
    expect(r.code).toBe(100);
    expect(r.stderr).toBe(`svrun: web is already supervised by pid ${sv.pid}\n`);
    expect(sb.status('web')).toMatchObject({ pid: st.pid, supervisor: st.supervisor });
    expect(pidsByArgv0(m)).toEqual([st.pid]);
  });

  it('two svruns started together: one supervises, the other exits 100', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `exec ${m} 1000`);
    const a = sb.svrun([dir]);
    const b = sb.svrun([dir]);
    const loser = await Promise.race([exitOf(a).then(() => a), exitOf(b).then(() => b)]);
    expect(loser.exitCode).toBe(100);
    const winner = loser === a ? b : a;
    const st = await sb.waitRunning('web', m);
    expect(st.supervisor!.pid).toBe(winner.pid);
    expect(pidsByArgv0(m)).toEqual([st.pid]);
  });

  it('after a SIGKILL of svrun the service dies of its parent-death signal, and a new svrun takes the lock at once', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `exec ${m} 1000`);
    const sv = sb.svrun([dir]);
    const st = await sb.waitRunning('web', m);
    sv.kill('SIGKILL');
    await waitFor(() => !isAlive(st.pid), 'the service to die with its supervisor', 2000);
    expect(existsSync(join(dir, 'supervise', 'lock'))).toBe(true);
    const t0 = Date.now();
    const sv2 = sb.svrun([dir]);
    await sb.waitStatus('web', (s) => s.supervisor?.pid === sv2.pid, 'the new supervisor');
    // not proper-lockfile's staleness: a lock is stale 10 s after its last touch, so a takeover by
    // staleness would come 5 s after the kill at the earliest (the lock names its dead owner: at once)
    expect(Date.now() - t0).toBeLessThan(5000);
    const st2 = await sb.waitRunning('web', m);
    expect(pidsByArgv0(m)).toEqual([st2.pid]);
  });

  it('leftovers that ignore the down-signal are stopped by the next svrun before it starts the service', async () => {
    const m = sb.marker('web');
    const g = sb.marker('child');
    const dir = sb.service('web', `trap '' TERM; ${g} 1000 & exec ${m} 1000`, { 'timeout-kill': '200' });
    const sv = sb.svrun([dir]);
    const st = await sb.waitRunning('web', m);
    await waitFor(() => pidsByArgv0(g).length === 1, 'child running');
    // its task reaper first (an OOM kill of both, say): the next svrun is the last line of defence
    process.kill(await waitFor(() => taskReaperPid(dir), 'the task reaper'), 'SIGKILL');
    sv.kill('SIGKILL');
    await exitOf(sv);
    expect(isAlive(st.pid)).toBe(true); // it ignores TERM, its parent-death signal
    const sv2 = sb.svrun([dir]);
    await sb.waitStatus('web', (s) => s.state === 'up' && s.supervisor?.pid === sv2.pid, 'up again');
    expect(isAlive(st.pid)).toBe(false);
    const st2 = await sb.waitRunning('web', m);
    expect(pidsByArgv0(m)).toEqual([st2.pid]);
    await waitFor(() => pidsByArgv0(g).length === 1, 'one child');
    await sb.waitLog('web', /svrun stopping: SIGTERM\n.*svrun killed after \d+ ms\n.*svrun started pid/);
  });

  it('a corrupt status.json is logged and replaced, never fatal', async () => {
    const dir = sb.service('web', `exec ${sb.marker('web')} 1000`);
    sb.write(dir, 'supervise/status.json', '{"version": 1, "sta');
    sb.svrun([dir]);
    await sb.waitStatus('web', (s) => s.state === 'up', 'up');
    await sb.waitLog('web', /svrun error: status: unreadable status.json replaced/);
  });
});

describe('svrun: bad input', () => {
  // one representative: every problem of a folder and its line are servicedir.test.ts's tables
  it.each([
    [
      'run not executable',
      (d: string) => chmodSync(join(d, 'run'), 0o644),
      /^svrun: web\/run: not an executable file \(no execute permission\)$/,
    ],
  ])('%s: exit 111, one line, nothing started or locked', async (_what, spoil, message) => {
    const dir = sb.service('web', `exec ${sb.marker('web')} 1000`);
    spoil(dir);
    const r = await sb.svrunSync([dir]);
    expect(r.code).toBe(111);
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr.trimEnd()).toMatch(message);
    expect(existsSync(join(dir, 'supervise'))).toBe(false);
    expect(pidsByArgv0(sb.marker('web'))).toEqual([]);
  });

  it('a missing folder exits 111 and is not created; usage errors exit 2', async () => {
    const missing = join(sb.dir, 'nope');
    const r = await sb.svrunSync([missing]);
    expect(r.code).toBe(111);
    expect(r.stderr).toBe(`svrun: ${missing}: no such service directory\n`);
    expect(existsSync(missing)).toBe(false);
    expect((await sb.svrunSync([])).code).toBe(2);
    expect((await sb.svrunSync(['--bogus', missing])).code).toBe(2);
    // several folders are several services: each missing one is its own line
    const two = await sb.svrunSync([missing, `${missing}2`]);
    expect(two).toMatchObject({
      code: 111,
      stderr: `svrun: ${missing}: no such service directory\nsvrun: ${missing}2: no such service directory\n`,
    });
  });
});

describe('svrun: supervision never gives up', () => {
  it('a run that disappears is retried with backoff and comes back when restored', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `exec ${m} 1000`);
    const sv = sb.svrun([dir]);
    const st = await sb.waitStatus('web', (s) => s.state === 'up', 'up');
    const body = readFileSync(join(dir, 'run'), 'utf8');
    rmSync(join(dir, 'run'));
    process.kill(st.pid!, 'SIGKILL');
    const failing = await sb.waitStatus(
      'web',
      (s) => s.state === 'backoff' && (s.lastError ?? '').startsWith('run: '),
      'backoff with lastError',
    );
    expect(failing.lastError).toMatch(/ENOENT/);
    await sb.waitLog('web', /svrun error: run: .*ENOENT/); // the log is written after status.json
    expect(isAlive(sv.pid)).toBe(true);
    sb.write(dir, 'run', body);
    await sb.waitStatus('web', (s) => s.state === 'up' && s.lastError === null, 'up again', 8000);
    await sb.waitRunning('web', m);
  });
});

describe('svrun: control FIFO', () => {
  it('d, u, o, and x', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `exec ${m} 1000`);
    const sv = sb.svrun([dir]);
    await sb.waitRunning('web', m);
    control(dir, 'd');
    await sb.waitStatus('web', (s) => s.state === 'down' && s.want === 'down', 'down');
    expect(pidsByArgv0(m)).toEqual([]);
    control(dir, 'o');
    const once = await sb.waitStatus('web', (s) => s.state === 'up' && s.want === 'once', 'up once');
    process.kill(once.pid!, 'SIGKILL');
    await sb.waitStatus('web', (s) => s.state === 'failed', 'failed, not restarted');
    control(dir, 'u');
    await sb.waitStatus('web', (s) => s.state === 'up' && s.want === 'up', 'up');
    await sb.waitRunning('web', m);
    control(dir, 'x');
    expect(await exitOf(sv)).toBe(0);
    expect(pidsByArgv0(m)).toEqual([]);
    expect(sb.status('web')!.state).toBe('down');
    expect(() => control(dir, 'u')).toThrow(/not supervised/);
  });

  // one representative: each letter's signal is the letter table's (test/supervise/control.test.ts)
  it.each([['h', 'HUP']])('%s sends SIG%s to the service', async (letter, sig) => {
    const dir = sb.service('web', `trap 'echo got >> ${sig}.txt' ${sig}; touch trapped; while :; do sleep 0.05; done`);
    sb.svrun([dir]);
    await sb.waitStatus('web', (s) => s.state === 'up', 'up');
    await waitFor(() => existsSync(join(dir, 'trapped')), 'the trap to be set');
    control(dir, letter);
    await waitFor(() => existsSync(join(dir, `${sig}.txt`)), `the service to trap SIG${sig}`);
  });

  it('p stops the group, c continues it, k kills it', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `exec ${m} 1000`);
    sb.svrun([dir]);
    const st = await sb.waitRunning('web', m);
    control(dir, 'p');
    await waitFor(() => procStat(st.pid!)?.state === 'T', 'stopped (T)');
    control(dir, 'c');
    await waitFor(() => procStat(st.pid!)?.state === 'S', 'running again');
    control(dir, 'k');
    const after = await sb.waitStatus('web', (s) => s.restarts === 1 && s.state === 'up', 'restarted after k');
    expect(after.lastExit!.signal).toBe('SIGKILL');
  });
});
