// The per-service task reaper (src/supervisor/taskreaper.ts): after a SIGKILL of svrun,
// with nothing else started, nothing of the service runs on; clean exits
// leave no reaper behind; a new svrun waits for a reaper at work instead of
// racing it; svctl status tells "being reaped" from "down". Real processes.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cgroupDirs, v1CgroupList } from '../../src/os/cgroup.js';
import { reaperArgv, targetLine } from '../../src/supervise/reaper.js';
import {
  control,
  exitOf,
  isAlive,
  pidsByArgv0,
  pressCtrlCUntilExit,
  procStat,
  type Sandbox,
  SVRUN,
  taskReaperPid,
  waitFor,
  withSandbox,
} from '../helpers.js';

/** Deadline for events that involve starting node processes on a busy machine. */
const SLOW = 10_000;
/** The bound is timeout-kill plus a second; tests allow more for a loaded machine (the bench measures). */
const MARGIN = 2_000;

let sb!: Sandbox;
withSandbox((s) => (sb = s));

/** svrun on `dir`, with cgroups or process groups only. */
const startSvrun = (dir: string, cgroup: boolean): ChildProcess => {
  const env = { ...sb.env, ...(cgroup ? {} : { SVKIT_NO_CGROUP: '1' }) };
  return spawn(process.execPath, [SVRUN, dir], { env, stdio: 'ignore' });
};

/** The reaper svrun recorded in supervise/reaper, once it runs. */
const waitReaper = (dir: string): Promise<number> => waitFor(() => taskReaperPid(dir), 'the task reaper', SLOW);

/** A main process that ignores its down-signal and a background grandchild, each a marker to count. */
const stubborn = (name: string, timeoutKill: number, files: Record<string, string> = {}) => {
  const main = sb.marker(`${name}-main`);
  const child = sb.marker(`${name}-child`);
  const dir = sb.service(name, `trap '' TERM\n${child} 1000 &\nexec ${main} 1000`, { 'timeout-kill': String(timeoutKill), ...files });
  return { dir, main, child };
};

describe('task reaper: a SIGKILLed svrun leaves nothing behind', () => {
  it.each([
    ['with a cgroup', true],
    ['with process groups only', false],
  ])('%s: a service that ignores TERM, and its grandchild, are gone after timeout-kill', async (_what, cgroup) => {
    const { dir, main, child } = stubborn('web', 300);
    const sv = startSvrun(dir, cgroup);
    const st = await sb.waitRunning('web', main, SLOW);
    expect(st.cgroup === null).toBe(!cgroup);
    if (st.cgroup) expect(existsSync(st.cgroup)).toBe(true); // its removal is checked below
    await waitFor(() => pidsByArgv0(child).length === 1, 'the grandchild running');
    const reaper = await waitReaper(dir);
    sv.kill('SIGKILL');
    await exitOf(sv);
    const t0 = Date.now();
    await waitFor(
      () => pidsByArgv0(main).length + pidsByArgv0(child).length === 0,
      'every process of the service to be gone',
      300 + MARGIN,
      5,
    );
    // it took the SIGKILL: TERM alone (the parent-death signal included) stops neither
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
    await waitFor(() => !isAlive(reaper), 'the reaper to exit', MARGIN);
    if (st.cgroup) await waitFor(() => !existsSync(st.cgroup!), 'the empty cgroup removed', MARGIN);
    // and on a hybrid host the v1 ones made with it
    const v1 = st.cgroup ? v1CgroupList(cgroupDirs('web', dir)) : [];
    await waitFor(
      () => v1.every((d) => !existsSync(d)),
      () => `the v1 cgroups removed: ${v1.filter(existsSync).join(' ')}`,
      MARGIN,
    );
  });

  it('a service that stops on TERM is gone at once, its grandchild included', async () => {
    const main = sb.marker('main');
    const child = sb.marker('child');
    const dir = sb.service('web', `${child} 1000 &\nexec ${main} 1000`, { 'timeout-kill': '20000' });
    const sv = startSvrun(dir, true);
    await sb.waitRunning('web', main, SLOW);
    await waitFor(() => pidsByArgv0(child).length === 1, 'the grandchild running');
    await waitReaper(dir);
    sv.kill('SIGKILL');
    // far below timeout-kill: no SIGKILL was needed
    await waitFor(() => pidsByArgv0(main).length + pidsByArgv0(child).length === 0, 'the service gone', 1000 + MARGIN, 5);
  });

  it('a log/ logger and its children are reaped too, after the service', async () => {
    const { dir, main, child } = stubborn('web', 300);
    const logChild = sb.marker('log-child');
    sb.write(dir, 'log/run', `#!/bin/sh\ntrap '' TERM\n${logChild} 1000 &\nexec cat > /dev/null`);
    const sv = startSvrun(dir, false);
    await sb.waitRunning('web', main, SLOW);
    await waitFor(() => pidsByArgv0(logChild).length === 1 && pidsByArgv0(child).length === 1, 'the logger and the grandchild running');
    await waitReaper(dir);
    sv.kill('SIGKILL');
    await waitFor(
      () => pidsByArgv0(main).length + pidsByArgv0(child).length + pidsByArgv0(logChild).length === 0,
      'the service and its logger gone',
      2 * 300 + MARGIN,
      5,
    );
  });

  it('never signals a group whose leader is another process than the one svrun named (start time)', async () => {
    const m = sb.marker('bystander');
    const by = spawn(m, ['1000'], { detached: true, stdio: 'ignore', env: sb.env });
    const byExit = exitOf(by); // listen now: exitOf cannot tell a child already killed by a signal
    await waitFor(() => isAlive(by.pid), 'the bystander running');
    const start = procStat(by.pid!)!.start;
    const reaper = spawn('/bin/sh', reaperArgv([{ id: 'svkit-bystander-0', superviseDir: sb.dir }]).slice(1), {
      stdio: ['pipe', 'ignore', 'ignore'],
      env: sb.env,
    });
    // svrun "dies" (EOF) having named the bystander's pid with another start time
    reaper.stdin!.end(targetLine('run', { pgid: by.pid!, pidStart: start + 1, signal: 'SIGTERM', timeoutKillMs: 100, cgroup: null }));
    expect(await exitOf(reaper)).toBe(0);
    expect(isAlive(by.pid)).toBe(true);
    // the same, named rightly: stopped
    const again = spawn('/bin/sh', reaperArgv([{ id: 'svkit-bystander-0', superviseDir: sb.dir }]).slice(1), {
      stdio: ['pipe', 'ignore', 'ignore'],
      env: sb.env,
    });
    again.stdin!.end(targetLine('run', { pgid: by.pid!, pidStart: start, signal: 'SIGTERM', timeoutKillMs: 100, cgroup: null }));
    expect(await exitOf(again)).toBe(0);
    expect(await byExit).toBe(128 + 15);
  });
});

describe('task reaper: clean exits and the next supervisor', () => {
  it.each([
    ['svctl down', async (_dir: string, _sv: number) => expect((await sb.svctl(['down', 'web'])).code).toBe(0)],
    ['SIGTERM', async (_dir: string, sv: number) => process.kill(sv, 'SIGTERM')],
    ['x on the control FIFO', async (dir: string) => control(dir, 'x')],
  ])('%s leaves no reaper behind', async (_what, stop) => {
    const m = sb.marker('web');
    const dir = sb.service('web', `exec ${m} 1000`, { 'timeout-kill': '300' });
    expect((await sb.svctl(['up', 'web'])).code).toBe(0);
    const sv = sb.status('web')!.supervisor!.pid;
    const reaper = await waitReaper(dir);
    await stop(dir, sv);
    await waitFor(() => !isAlive(sv), 'svrun to exit', SLOW);
    expect(isAlive(reaper)).toBe(false); // svrun waits for it before it exits
    expect(existsSync(join(dir, 'supervise', 'reaper'))).toBe(false);
    expect(sb.status('web')!.state).toBe('down');
  });

  it('SIGKILL of svrun and at once svctl up: the service never runs twice, and runs again', async () => {
    const { main, child } = { main: sb.marker('main'), child: sb.marker('child') };
    // every process of a run holds fd 9's lock: a second run that starts while one remains says so
    const dir = sb.service(
      'web',
      `exec 9>>${sb.path('running')}\nflock -n 9 || echo overlap >> ${sb.path('overlaps')}\necho $$ >> ${sb.path('starts')}\ntrap '' TERM\n${child} 1000 &\nexec ${main} 1000`,
      // long enough for the new svrun to arrive while the reaper is at work
      { 'timeout-kill': '1500' },
    );
    expect((await sb.svctl(['up', 'web'])).code).toBe(0);
    const first = await sb.waitRunning('web', main, SLOW);
    await waitFor(() => pidsByArgv0(child).length === 1, 'the grandchild running');
    await waitReaper(dir);
    process.kill(first.supervisor!.pid, 'SIGKILL');
    expect((await sb.svctl(['up', 'web'])).code).toBe(0);
    const second = await sb.waitRunning('web', main, SLOW);
    expect(second.pid).not.toBe(first.pid);
    expect(isAlive(first.pid)).toBe(false);
    expect(pidsByArgv0(main)).toEqual([second.pid]);
    await waitFor(() => pidsByArgv0(child).length === 1, 'one grandchild');
    expect(sb.lines('starts')).toHaveLength(2);
    expect(sb.lines('overlaps')).toEqual([]);
    // the new svrun waited for the reaper instead of racing it: it found nothing left to stop
    expect(sb.log('web')).not.toMatch(/svrun stopping:/);
  });

  it('a new svrun waits for a reaper at work; a second Ctrl-C meanwhile kills at once', async () => {
    const { dir, main } = stubborn('web', 20_000);
    const a = sb.svrun([dir]);
    const st = await sb.waitRunning('web', main, SLOW);
    const reaper = await waitReaper(dir);
    a.kill('SIGKILL');
    await exitOf(a);
    const b = sb.svrun([dir]);
    await sb.waitStatus('web', (s) => s.supervisor?.pid === b.pid && s.state === 'stopping', 'the new svrun waiting', SLOW);
    expect(isAlive(reaper)).toBe(true);
    expect(isAlive(st.pid)).toBe(true); // it ignores TERM: without Ctrl-C it would live 20 s more
    const t0 = Date.now();
    const code = await pressCtrlCUntilExit(b);
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(20_000); // at once: never timeout-kill's 20 s (how fast: bench)
    expect(isAlive(st.pid)).toBe(false);
    expect(isAlive(reaper)).toBe(false);
  });

  it('svctl down waits for a reaper at work: when it returns, nothing of the service runs', async () => {
    const { dir, main, child } = stubborn('web', 1500);
    const sv = startSvrun(dir, false);
    await sb.waitRunning('web', main, SLOW);
    await waitFor(() => pidsByArgv0(child).length === 1, 'the grandchild running');
    const reaper = await waitReaper(dir);
    sv.kill('SIGKILL');
    await exitOf(sv);
    expect(isAlive(reaper)).toBe(true); // at work, inside timeout-kill
    expect(await sb.svctl(['down', 'web'])).toMatchObject({ code: 0, stderr: '' });
    expect(pidsByArgv0(main)).toEqual([]);
    expect(pidsByArgv0(child)).toEqual([]);
  });

  it('svctl status tells "unsupervised, being reaped" from "down"', async () => {
    const { dir, main } = stubborn('web', 4000);
    const sv = startSvrun(dir, true);
    await sb.waitRunning('web', main, SLOW);
    const reaper = await waitReaper(dir);
    sv.kill('SIGKILL');
    await exitOf(sv);
    const json = JSON.parse((await sb.svctl(['status', '--json', 'web'])).stdout) as {
      state: string;
      supervised: boolean;
      reaper?: number;
    }[];
    expect(json[0]).toMatchObject({ state: 'down', supervised: false, reaper });
    expect((await sb.svctl(['status', 'web'])).stdout).toMatch(/^web\s+reaping\s/m);
    expect(isAlive(reaper)).toBe(true); // still inside timeout-kill: the answer above was not stale
    await waitFor(() => !isAlive(reaper), 'the reaper done', 4000 + MARGIN);
    const after = JSON.parse((await sb.svctl(['status', '--json', 'web'])).stdout) as { state: string; reaper?: number }[];
    expect(after[0]!.state).toBe('down');
    expect(after[0]!.reaper).toBeUndefined();
  });
});
