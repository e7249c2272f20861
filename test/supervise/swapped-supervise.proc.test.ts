// Issue 22, item 2: the service's identity and lock do not depend on what
// sits at supervise/. The lock is the kernel's flock on the service folder,
// so no second run can start whatever is put at supervise/; svrun writes
// through its held supervise/ and puts the name back when it is moved,
// replaced or removed, so svctl finds it and `svctl down` stops what runs.
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { every, exitOf, isAlive, pidsByArgv0, Sandbox, SVRUN, svrunPids, waitFor, withSandbox } from '../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

/** Samples how many copies of the service run, all along: the most ever seen. */
const countRuns = (m: string) => {
  let most = 0;
  const sampler = every(10, () => (most = Math.max(most, pidsByArgv0(m).length)));
  return { most: () => most, stop: () => sampler.stop() };
};

describe('supervise/ swapped while the service runs', () => {
  it('for a symlink to another folder: svctl up starts no second run, svctl down stops what runs', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `exec ${m} 1000`, { 'timeout-kill': '300' });
    expect(await sb.svctl(['up', 'web'])).toMatchObject({ code: 0, stderr: '' });
    const st = await sb.waitRunning('web', m);
    const runs = countRuns(m);
    try {
      const elsewhere = sb.path('elsewhere');
      mkdirSync(elsewhere);
      renameSync(join(dir, 'supervise'), join(dir, 'supervise.real'));
      symlinkSync(elsewhere, join(dir, 'supervise'));
      const up = await sb.svctl(['up', 'web']);
      expect(up).toMatchObject({ code: 0, stderr: '' });
      // the supervisor put its folder back under its name, and said so
      await waitFor(() => lstatSync(join(dir, 'supervise')).isDirectory(), 'supervise/ put back');
      expect(sb.log('web')).toMatch(/svrun error: .*\/web\/supervise: it was moved to .*supervise\.real: put back; what was in its place: a symlink moved aside to supervise\..*\.replaced/);
      expect(readdirSync(elsewhere)).toEqual([]); // nothing written through the planted symlink
      expect(pidsByArgv0(m)).toEqual([st.pid]);
      const down = await sb.svctl(['down', 'web']);
      expect(down).toMatchObject({ code: 0, stderr: '' });
      expect(isAlive(st.pid)).toBe(false);
      await waitFor(() => svrunPids(dir).length === 0, 'the supervisor gone');
      expect(runs.most()).toBe(1);
    } finally {
      runs.stop();
    }
  });

  it('svctl down right after the swap, before the supervisor put it back, still stops what runs', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `exec ${m} 1000`, { 'timeout-kill': '300' });
    sb.svrun([dir]);
    const st = await sb.waitRunning('web', m);
    renameSync(join(dir, 'supervise'), join(dir, 'supervise.real'));
    mkdirSync(join(dir, 'supervise')); // an empty folder in its place: no status, no FIFO
    const down = await sb.svctl(['down', 'web']);
    expect(down).toMatchObject({ code: 0, stderr: '' });
    expect(isAlive(st.pid)).toBe(false);
    await waitFor(() => svrunPids(dir).length === 0, 'the supervisor gone');
    expect(sb.log('web')).toMatch(/what was in its place: a directory moved aside to supervise\..*\.replaced/);
  });

  it('removed: made anew, status.json and the control FIFO in it again; svctl status and down work', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `exec ${m} 1000`, { 'timeout-kill': '300' });
    sb.svrun([dir]);
    const st = await sb.waitRunning('web', m);
    rmSync(join(dir, 'supervise'), { recursive: true });
    await sb.waitStatus('web', (s) => s.state === 'up' && s.pid === st.pid, 'status.json written again');
    await waitFor(() => existsSync(join(dir, 'supervise', 'control')), 'a new control FIFO');
    expect(sb.log('web')).toMatch(/supervise: it was removed: made anew/);
    const r = await sb.svctl(['status', '--json', 'web']);
    expect(JSON.parse(r.stdout)[0]).toMatchObject({ state: 'up', supervised: true, pid: st.pid });
    expect(await sb.svctl(['down', 'web'])).toMatchObject({ code: 0, stderr: '' });
    expect(isAlive(st.pid)).toBe(false);
  });
});

describe('one run per service folder, whatever its supervise/', () => {
  it('a second svrun of the same folder with its state elsewhere ($SVKIT_STATE_DIR) exits 100 naming the first', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `exec ${m} 1000`);
    const first = sb.svrun([dir]);
    const st = await sb.waitRunning('web', m);
    const state = sb.path('state');
    const second = spawn(process.execPath, [SVRUN, dir], { env: { ...sb.env, SVKIT_STATE_DIR: state }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    second.stderr.on('data', (d) => (err += d));
    expect(await exitOf(second)).toBe(100);
    expect(err).toBe(`svrun: web is already supervised by pid ${first.pid}\n`);
    expect(pidsByArgv0(m)).toEqual([st.pid]);
    expect(existsSync(join(state, 'web', 'supervise', 'status.json'))).toBe(false);
  });

  it('the lock is the kernel\'s, on the service folder: /proc/locks names svrun as its holder', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `exec ${m} 1000`);
    const sv = sb.svrun([dir]);
    await sb.waitRunning('web', m);
    const locks = readFileSync('/proc/locks', 'latin1');
    expect(locks).toMatch(new RegExp(`FLOCK +ADVISORY +WRITE ${sv.pid} `));
  });
});
