// No inotify instance left (fs.inotify.max_user_instances used up, as when
// one user runs 128 svruns): boot, svrun and svctl go on by polling and say
// so once. The limit is set to 0 inside a user namespace of the test's own
// (`unshare -U -r`, where root may set /proc/sys/user/max_inotify_instances
// for that namespace alone): bounded, nothing else on the machine notices,
// and it ends with the processes.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitOf, isAlive, pidsByArgv0, type Sandbox, SVCTL, SVRUN, waitFor, withSandbox } from '../../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const NO_INOTIFY = 'echo 0 > /proc/sys/user/max_inotify_instances && exec "$@"';
const canLimit = spawnSync('unshare', ['-U', '-r', 'sh', '-c', `${NO_INOTIFY}`, 'sh', process.execPath, '-e', 'require("fs").watch("/")'], {
  encoding: 'utf8',
}).stderr.includes('EMFILE');

/** `argv` run with no inotify instance to be had; its output in files of the sandbox. */
const withoutInotify = (argv: string[]) => {
  const out = sb.path('ns.out');
  const err = sb.path('ns.err');
  const fo = openSync(out, 'w');
  const fe = openSync(err, 'w');
  const child = spawn('unshare', ['-U', '-r', 'sh', '-c', NO_INOTIFY, 'sh', ...argv], {
    env: sb.env,
    stdio: ['ignore', fo, fe],
    cwd: sb.dir,
  });
  closeSync(fo);
  closeSync(fe);
  return { child, stdout: () => readFileSync(out, 'utf8'), stderr: () => readFileSync(err, 'utf8') };
};

const count = (text: string, what: string) => text.split(what).length - 1;

describe.runIf(canLimit)(
  'no inotify instance left (needs user namespaces with their own inotify limit: Linux >= 5.11)',
  { timeout: 60_000 },
  () => {
    it('svctl boot keeps running: says once that it polls, brings a folder added later up and a removed one down, stops on SIGTERM', async () => {
      const late = sb.marker('late');
      sb.service('db', `exec ${sb.marker('db')} 1000`);
      const b = withoutInotify([process.execPath, SVCTL, 'boot']);
      await sb.waitStatus('db', (s) => s.state === 'up', 'db up', 10_000);
      // a folder made complete elsewhere and renamed into place, as a deployment does
      sb.service('../late', `exec ${late} 1000`);
      renameSync(join(sb.dir, 'late'), join(sb.scan, 'late'));
      const up = await sb.waitStatus('late', (s) => s.state === 'up', 'late up (found by polling)', 15_000);
      await waitFor(() => pidsByArgv0(late).length === 1, 'late running');
      rmSync(join(sb.scan, 'late'), { recursive: true, force: true });
      await waitFor(() => pidsByArgv0(late).length === 0 && !isAlive(up.supervisor!.pid), 'late and its supervisor gone', 15_000);
      expect(b.child.exitCode).toBeNull();
      b.child.kill('SIGTERM');
      expect(await exitOf(b.child)).toBe(0);
      const err = b.stderr();
      expect(err).not.toMatch(/EMFILE: too many open files|Error:/);
      expect(
        count(
          err,
          `svctl: boot: cannot watch ${sb.scan} (no inotify instance left: fs.inotify.max_user_instances); looking every 2 s instead\n`,
        ),
      ).toBe(1);
      // each supervisor says it once too, in its own lines
      expect(count(b.stdout(), 'db | svrun error: status: cannot watch status.json (no inotify instance left')).toBe(1);
      expect(b.stdout()).toMatch(/^db \| svrun down$/m);
      expect(sb.tokenPids()).toEqual([]);
    });

    it('a lone svrun supervises as usual (svctl, which may watch, stops it) and logs the reason once', async () => {
      const m = sb.marker('web');
      const dir = sb.service('web', `exec ${m} 1000`, { 'timeout-kill': '300' });
      const r = withoutInotify([process.execPath, SVRUN, dir]);
      await sb.waitRunning('web', m, 10_000);
      await sb.waitLog('web', /svrun started pid/);
      expect((await sb.svctl(['down', 'web'])).code).toBe(0);
      expect(await exitOf(r.child)).toBe(0);
      expect(pidsByArgv0(m)).toEqual([]);
      expect(sb.status('web')!.state).toBe('down');
      const log = sb.log('web');
      expect(
        count(
          log,
          'svrun error: status: cannot watch status.json (no inotify instance left: fs.inotify.max_user_instances); looking every 15 s instead',
        ),
      ).toBe(1);
      expect(r.stderr()).toBe('');
    });
  },
);
