// Issue 22, item 1: pid and pidStart are public (/proc/PID/stat), so a
// status.json naming a bystander with both right, and a dead supervisor,
// must still make nobody signal it: a leftover is signalled only when /proc
// proves it the service's (its cgroup, or SVKIT_SERVICE_ID in its
// environment). Real leftovers are still found and stopped.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blankStatus, readStatus } from '../../src/supervise/status.js';
import { exitOf, isAlive, pidsByArgv0, procStat, type Sandbox, type StatusJson, taskReaperPid, waitFor, withSandbox } from '../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

/** A pid nobody has: the dead supervisor a crafted file names. */
const DEAD = { pid: 4_000_000, pidStart: 1, startedAt: '2020-01-01T00:00:00.000Z' };

/** A status.json as svrun writes it, with `over` planted in it. */
const plant = (dir: string, over: Partial<StatusJson>): void => {
  const status = {
    ...blankStatus('web', 'longrun'),
    supervisor: DEAD,
    want: 'up',
    state: 'up',
    since: new Date().toISOString(),
    ...over,
  };
  mkdirSync(join(dir, 'supervise'), { recursive: true });
  writeFileSync(join(dir, 'supervise', 'status.json'), JSON.stringify(status));
};

/**
 * A process of no service's: the leader of its own session and group, as
 * svkit's runs are, even carrying the service's name in its environment.
 */
const bystander = async (): Promise<{ child: ChildProcess; pid: number; start: number }> => {
  const m = sb.marker('bystander');
  const child = spawn(m, ['1000'], { detached: true, stdio: 'ignore', env: { ...sb.env, SVKIT_SERVICE: 'web' } });
  const pid = await waitFor(() => pidsByArgv0(m).find((p) => p === child.pid), 'the bystander running');
  const st = procStat(pid)!;
  expect([st.pgid, st.sid]).toEqual([pid, pid]);
  return { child, pid, start: st.start };
};

/** Not dead, not stopped: never signalled (sleep dies of SIGTERM, stops on SIGSTOP). */
const untouched = (pid: number) => isAlive(pid) && procStat(pid)?.state !== 'T';

const shown = async (name: string) => {
  const r = await sb.svctl(['status', '--json', name]);
  expect(r.code).toBe(0);
  return (JSON.parse(r.stdout) as { state: string; supervised: boolean; leftovers: unknown }[])[0]!;
};

describe('a crafted status.json naming a bystander by its exact pid and start time', () => {
  it('svctl status shows the service down, not unsupervised; svctl down and up signal nothing', async () => {
    const b = await bystander();
    const dir = sb.service('web', `exec ${sb.marker('web')} 1000`, { 'timeout-kill': '300' });
    plant(dir, { pid: b.pid, pidStart: b.start });
    expect(await shown('web')).toMatchObject({ state: 'down', supervised: false, leftovers: null });
    expect(await sb.svctl(['down', 'web'])).toMatchObject({ code: 0, stderr: '' });
    expect(untouched(b.pid)).toBe(true);
    expect(sb.log('web')).toBe(''); // no svrun was launched to clean up
    const up = await sb.svctl(['up', 'web']);
    expect(up).toMatchObject({ code: 0, stderr: '' });
    await sb.waitRunning('web', sb.marker('web'));
    expect(untouched(b.pid)).toBe(true);
    // the new supervisor says what it did not signal, and why
    expect(sb.log('web')).toMatch(new RegExp(`svrun error: leftovers: status\\.json names pid ${b.pid}, which nothing proves to be web's`));
    expect(sb.log('web')).not.toMatch(/stopping:/);
  });

  it('svrun started directly on such a folder signals nothing either', async () => {
    const b = await bystander();
    const dir = sb.service('web', `exec ${sb.marker('web')} 1000`, { 'timeout-kill': '300' });
    plant(dir, { pid: b.pid, pidStart: b.start, supervisor: null });
    sb.svrun([dir]);
    await sb.waitRunning('web', sb.marker('web'));
    expect(untouched(b.pid)).toBe(true);
    expect(sb.log('web')).not.toMatch(/stopping:/);
  });

  it("another scan directory's running service of the same name is not this one's leftover", async () => {
    const m = sb.marker('other');
    const otherScan = sb.path('other-scan');
    const other = join(otherScan, 'web');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'run'), `#!/bin/bash\nexec ${m} 1000\n`, { mode: 0o755 });
    sb.svrun([other]);
    const ost = await waitFor(() => {
      const r = readStatus(join(other, 'supervise', 'status.json'));
      const s = r.kind === 'ok' ? r.status : null;
      return s?.state === 'up' && s.pid !== null && pidsByArgv0(m).includes(s.pid) ? s : null;
    }, 'the other web running');
    const dir = sb.service('web', `exec ${sb.marker('web')} 1000`, { 'timeout-kill': '300' });
    plant(dir, { pid: ost.pid, pidStart: ost.pidStart, cgroup: ost.cgroup });
    expect(await shown('web')).toMatchObject({ supervised: false, leftovers: null });
    expect(await sb.svctl(['down', 'web'])).toMatchObject({ code: 0, stderr: '' });
    expect(await sb.svctl(['up', 'web'])).toMatchObject({ code: 0, stderr: '' });
    await sb.waitRunning('web', sb.marker('web'));
    expect(untouched(ost.pid!)).toBe(true);
    expect(pidsByArgv0(m)).toEqual([ost.pid]);
  });
});

/** A TERM-ignoring service left running by a SIGKILLed supervisor and reaper: svctl status shows it, svctl down stops it. */
const realLeftover = async (noCgroup: boolean, ctx: { skip: () => void }): Promise<void> => {
  if (noCgroup) process.env.SVKIT_NO_CGROUP = '1';
  try {
    const m = sb.marker('stubborn');
    // ignores TERM, so its parent-death signal too: a leftover once supervisor and reaper are gone;
    // with a cgroup, its environment says nothing (the cgroup alone proves it)
    const env = noCgroup ? '' : 'env -u SVKIT_SERVICE_ID -u SVKIT_SERVICE ';
    const dir = sb.service('st', `trap '' TERM; exec ${env}${m} 1000`, { 'timeout-kill': '300' });
    const sv = sb.svrun([dir]);
    const st = await sb.waitRunning('st', m);
    if (!noCgroup && st.cgroup === null) return ctx.skip(); // no writable cgroup v2 here
    const reaper = await waitFor(() => taskReaperPid(dir), 'the task reaper');
    process.kill(reaper, 'SIGKILL');
    sv.kill('SIGKILL');
    await exitOf(sv);
    await waitFor(() => !isAlive(reaper), 'the reaper gone');
    expect(isAlive(st.pid)).toBe(true);
    expect(await shown('st')).toMatchObject({ state: 'down', supervised: false, leftovers: { pgid: st.pid } });
    expect(await sb.svctl(['down', 'st'])).toMatchObject({ code: 0, stderr: '' });
    expect(isAlive(st.pid)).toBe(false);
  } finally {
    delete process.env.SVKIT_NO_CGROUP;
  }
};

describe('real leftovers are still proven and stopped', () => {
  it('by SVKIT_SERVICE_ID in their environment (no cgroup)', (ctx) => realLeftover(true, ctx));
  it('by their cgroup', (ctx) => realLeftover(false, ctx));
});
