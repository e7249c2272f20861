// Issue 22, item 2: the service's identity and lock do not depend on what
// sits at supervise/. The lock is the kernel's flock on the service folder,
// so no second run can start whatever is put at supervise/; svrun writes
// through its held supervise/ and puts the name back when it is moved,
// replaced or removed, so svctl finds it and `svctl down` stops what runs.
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { every, exitOf, isAlive, pidsByArgv0, type Sandbox, SVRUN, svrunPids, waitFor, withSandbox } from '../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

/**
 * supervise/ moved to supervise.real and `plant` put at its name; again if
 * svrun put its folder back between the two steps (a loaded machine).
 */
const swap = (dir: string, plant: (at: string) => void) =>
  waitFor(() => {
    try {
      renameSync(join(dir, 'supervise'), join(dir, 'supervise.real'));
      plant(join(dir, 'supervise'));
      return true;
    } catch {
      return false;
    }
  }, 'supervise/ swapped');

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
      await swap(dir, (at) => symlinkSync(elsewhere, at));
      const up = await sb.svctl(['up', 'web']);
      expect(up).toMatchObject({ code: 0, stderr: '' });
      // the supervisor put its folder back under its name, and said so
      await waitFor(() => lstatSync(join(dir, 'supervise')).isDirectory(), 'supervise/ put back');
      await sb.waitLog(
        'web',
        /svrun error: .*\/web\/supervise: it was moved to .*supervise\.real: put back; what was in its place: a symlink moved aside to supervise\..*\.replaced/,
      );
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
    await swap(dir, (at) => mkdirSync(at)); // an empty folder in its place: no status, no FIFO
    const down = await sb.svctl(['down', 'web']);
    expect(down).toMatchObject({ code: 0, stderr: '' });
    expect(isAlive(st.pid)).toBe(false);
    await waitFor(() => svrunPids(dir).length === 0, 'the supervisor gone');
    await sb.waitLog('web', /what was in its place: a directory moved aside to supervise\..*\.replaced/);
  });

  it('removed: not made anew (its service folder may be going too); said once; svctl names the supervisor, never says down', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `exec ${m} 1000`, { 'timeout-kill': '300' });
    const sv = sb.svrun([dir]);
    const st = await sb.waitRunning('web', m);
    // (again, if a status write landed in it meanwhile, as rm -rf would fail then too)
    await waitFor(() => {
      try {
        rmSync(join(dir, 'supervise'), { recursive: true, force: true });
        return true;
      } catch {
        return false;
      }
    }, 'supervise/ removed');
    await sb.waitLog(
      'web',
      /svrun error: supervise: .*\/web\/supervise: removed while svrun ran: status\.json and the control FIFO are gone with it; stop this svrun \(SIGTERM\) and start it again$/m,
    );
    expect(existsSync(join(dir, 'supervise'))).toBe(false);
    const r = await sb.svctl(['status', '--json', 'web']);
    expect(JSON.parse(r.stdout)[0]).toMatchObject({ supervised: false, heldBy: sv.pid });
    expect((await sb.svctl(['status', 'web'])).stdout).toMatch(/^web +unreachable /m);
    expect((await sb.svctl(['check', 'web'])).stdout).toBe(`web: unreachable (supervisor pid ${sv.pid}; its supervise/ cannot be read)\n`);
    const down = await sb.svctl(['down', '-t', '500', 'web']);
    expect(down.code).toBe(1);
    expect(down.stderr.replace(/after \d+ ms/, 'after N ms')).toBe(
      `svctl: web: still supervised by pid ${sv.pid} after N ms, but ${join(dir, 'supervise')} is not its folder (moved, replaced or removed while it ran): stop it with kill -TERM ${sv.pid}\n`,
    );
    expect(isAlive(st.pid)).toBe(true);
    sv.kill('SIGTERM');
    expect(await exitOf(sv)).toBe(0);
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
    const second = spawn(process.execPath, [SVRUN, dir], {
      env: { ...sb.env, SVKIT_STATE_DIR: state },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    second.stderr.on('data', (d) => (err += d));
    expect(await exitOf(second)).toBe(100);
    expect(err).toBe(`svrun: web is already supervised by pid ${first.pid}\n`);
    expect(pidsByArgv0(m)).toEqual([st.pid]);
    expect(existsSync(join(state, 'web', 'supervise', 'status.json'))).toBe(false);
  });

  it("the lock is the kernel's, on the service folder: /proc/locks names svrun as its holder", async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `exec ${m} 1000`);
    const sv = sb.svrun([dir]);
    await sb.waitRunning('web', m);
    const locks = readFileSync('/proc/locks', 'latin1');
    expect(locks).toMatch(new RegExp(`FLOCK +ADVISORY +WRITE ${sv.pid} `));
  });
});
