// status.json is a hint, never an order to kill (Principle 2): a crafted old
// status naming an unrelated process group, another service's cgroup or a
// plain directory makes the next supervisor signal nothing and write nothing
// there; leftovers it may not kill never keep it from obeying SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitOf, isAlive, pidsByArgv0, procStat, type Sandbox, type StatusJson, waitFor, withSandbox } from '../helpers.js';
import { blankStatus } from '../../src/supervise/status.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

/** A status.json as svrun writes it, with `over` planted in it. */
const plant = (dir: string, over: Partial<StatusJson>): void => {
  const status = {
    ...blankStatus('web', 'longrun'),
    want: 'up',
    state: 'up',
    since: new Date().toISOString(),
    ...over,
  };
  sb.write(dir, 'supervise/status.json', JSON.stringify(status));
};

/** A process of no service's: the leader of its own session and group, carrying the test's token for cleanup. */
const bystander = async (name: string): Promise<{ child: ChildProcess; pid: number; start: number }> => {
  const m = sb.marker(name);
  const child = spawn(m, ['1000'], { detached: true, stdio: 'ignore', env: sb.env });
  const pid = await waitFor(() => pidsByArgv0(m).find((p) => p === child.pid), `${name} running`);
  const st = procStat(pid)!;
  expect(st.pgid).toBe(pid);
  return { child, pid, start: st.start };
};

/** Not dead, not stopped: never signalled (sleep dies of SIGTERM, stops on SIGSTOP). */
const untouched = (pid: number) => isAlive(pid) && procStat(pid)?.state !== 'T';

describe('status.json is a hint, never an order to kill', () => {
  it.each([
    ['no start time recorded', (_start: number) => null],
    ['another start time', (start: number) => start + 1],
  ])('an unrelated process group named with %s is not signalled; the service starts', async (_what, pidStart) => {
    const b = await bystander('bystander');
    const dir = sb.service('web', `exec ${sb.marker('web')} 1000`, { 'timeout-kill': '300' });
    plant(dir, { pid: b.pid, pidStart: pidStart(b.start), state: 'up' });
    sb.svrun([dir]);
    await sb.waitRunning('web', sb.marker('web'));
    expect(untouched(b.pid)).toBe(true);
    expect(sb.log('web')).not.toMatch(/stopping:/);
  });

  it("a group whose leader is gone is not signalled unless its members prove to be the service's", async () => {
    // sh leads a new session and exits; its child stays, alone, in sh's group
    const m = sb.marker('orphan');
    const sh = spawn('/bin/sh', ['-c', `${m} 1000 & exit 0`], { detached: true, stdio: 'ignore', env: sb.env });
    await exitOf(sh);
    const [orphan] = await waitFor(() => {
      const p = pidsByArgv0(m);
      return p.length === 1 ? p : null;
    }, 'the orphan running');
    expect(procStat(orphan!)?.pgid).toBe(sh.pid);
    const dir = sb.service('web', `exec ${sb.marker('web')} 1000`, { 'timeout-kill': '300' });
    plant(dir, { pid: sh.pid!, pidStart: 0 }); // "born before everything there"
    sb.svrun([dir]);
    await sb.waitRunning('web', sb.marker('web'));
    expect(untouched(orphan!)).toBe(true);
  });

  it("another service's real cgroup named as `cgroup` is left alone", async (ctx) => {
    const om = sb.marker('other');
    const other = sb.service('other', `exec ${om} 1000`);
    sb.svrun([other]);
    const ost = await sb.waitRunning('other', om);
    if (ost.cgroup === null) return ctx.skip(); // no writable cgroup v2 here
    const dir = sb.service('web', `exec ${sb.marker('web')} 1000`, { 'timeout-kill': '300' });
    plant(dir, { cgroup: ost.cgroup });
    sb.svrun([dir]);
    await sb.waitRunning('web', sb.marker('web'));
    expect(untouched(ost.pid!)).toBe(true);
    expect(sb.status('other')).toMatchObject({ state: 'up', pid: ost.pid, restarts: 0 });
    expect(sb.log('web')).not.toMatch(/stopping:/);
  });

  it('a plain directory named as `cgroup` gets no cgroup.kill; the supervisor starts its service and obeys SIGTERM', async () => {
    const b = await bystander('bystander');
    const fake = sb.path('fake-cgroup');
    mkdirSync(fake);
    writeFileSync(join(fake, 'cgroup.events'), 'populated 1\nfrozen 0\n');
    writeFileSync(join(fake, 'cgroup.procs'), `${b.pid}\n`);
    const dir = sb.service('web', `exec ${sb.marker('web')} 1000`, { 'timeout-kill': '300' });
    plant(dir, { cgroup: fake });
    const sv = sb.svrun([dir]);
    await sb.waitRunning('web', sb.marker('web'));
    expect(untouched(b.pid)).toBe(true);
    expect(existsSync(join(fake, 'cgroup.kill'))).toBe(false);
    sv.kill('SIGTERM');
    expect(await exitOf(sv)).toBe(0);
    expect(sb.status('web')).toMatchObject({ state: 'down', lastExit: { signal: 'SIGTERM' } });
  });

  it('svctl down does not take a crafted hint for leftovers: nothing is launched, nothing signalled', async () => {
    const b = await bystander('bystander');
    const dir = sb.service('web', `exec ${sb.marker('web')} 1000`, { 'timeout-kill': '300' });
    plant(dir, { pid: b.pid, pidStart: null, state: 'up' });
    const r = await sb.svctl(['down', 'web']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(untouched(b.pid)).toBe(true);
    expect(sb.log('web')).toBe(''); // no svrun ever ran for it
  });
});

describe('leftovers are found by what svkit made, not by what status.json says', () => {
  it("with status.json saying nothing runs, leftovers in the service's own cgroup are still stopped before it starts again", async (ctx) => {
    const m = sb.marker('stubborn');
    const dir = sb.service('st', `trap '' TERM; exec ${m} 1000`, { 'timeout-kill': '300' });
    const a = sb.svrun([dir]);
    const st = await sb.waitRunning('st', m);
    if (st.cgroup === null) return ctx.skip(); // no writable cgroup v2 here
    a.kill('SIGKILL');
    await exitOf(a);
    expect(isAlive(st.pid)).toBe(true); // ignores its parent-death signal: a leftover
    plant(dir, { ...sb.status('st'), pid: null, pidStart: null, cgroup: null }); // a status saying nothing runs
    sb.svrun([dir]);
    const st2 = await sb.waitRunning('st', m);
    expect(isAlive(st.pid)).toBe(false);
    expect(pidsByArgv0(m)).toEqual([st2.pid]);
  });
});

describe('real leftovers are still found', () => {
  it('svctl down stops the strays of a group whose leader exited, proven by their environment', async () => {
    process.env.SVKIT_NO_CGROUP = '1'; // the process group is all there is to go by
    try {
      const g = sb.marker('stray');
      const dir = sb.service('s', `sh -c "trap '' TERM; exec ${g} 1000" & ${sb.marker('main')} 0.3; exit 1`, { 'timeout-kill': '1500' });
      const a = sb.svrun([dir]);
      await sb.waitStatus('s', (x) => x.state === 'stopping', 'stopping what the run left');
      const [stray] = pidsByArgv0(g);
      a.kill('SIGKILL');
      await exitOf(a);
      expect(isAlive(stray)).toBe(true);
      expect(procStat(sb.status('s')!.pid!)).toBeNull(); // the leader is gone: only the strays prove the group
      const r = await sb.svctl(['down', 's']);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      expect(isAlive(stray)).toBe(false);
    } finally {
      delete process.env.SVKIT_NO_CGROUP;
    }
  });
});

describe('leftovers never keep a supervisor from its signals', () => {
  it('with timeout-kill 0 (never SIGKILL), SIGTERM ends the wait on TERM-ignoring leftovers: exit 0, leftovers kept on record', async () => {
    const m = sb.marker('stubborn');
    const dir = sb.service('st', `trap '' TERM; exec ${m} 1000`, { 'timeout-kill': '0' });
    const a = sb.svrun([dir]);
    const st = await sb.waitRunning('st', m);
    a.kill('SIGKILL');
    await exitOf(a);
    expect(isAlive(st.pid)).toBe(true); // ignores its parent-death signal: a leftover
    const b = sb.svrun([dir]);
    await sb.waitLog('st', /svrun stopping: SIGTERM\n$/);
    b.kill('SIGTERM');
    // timeout-kill 0: without SIGTERM ending the wait, svrun would wait for the leftover forever
    const code = await Promise.race([exitOf(b), waitFor(() => false, 'svrun to exit on SIGTERM', 10_000)]);
    expect(code).toBe(0);
    expect(isAlive(st.pid)).toBe(true); // never killed, as timeout-kill 0 says
    expect(sb.status('st')).toMatchObject({ state: 'down', pid: st.pid, pidStart: st.pidStart });
    expect(sb.log('st')).toMatch(/svrun error: leftovers: still running/);
    expect(pidsByArgv0(m)).toEqual([st.pid]); // nothing started beside it
  });
});
