// svctl boot as a container init, run for real (as a child subreaper, since
// the tests are not PID 1): order, output, CMD and its exit code, reverse
// shutdown within --shutdown-timeout, reaping orphans, watching the folder.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  exitOf,
  inBothModes,
  isAlive,
  pidsByArgv0,
  procStat,
  type Sandbox,
  startSvctl,
  SVCTL,
  svrunPids,
  waitFor,
  withSandbox,
} from '../../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

/** A service that says hello, and on its down-signal notes its name in stops.txt before it exits. */
const polite = (name: string) =>
  `echo ${name}-hello; trap 'echo ${name} >> ${'$'}STOPS; exit 0' TERM; touch ${name}.trapped; while :; do sleep 0.05; done`;

inBothModes(
  () => sb,
  (hosted) => {
    describe('svctl boot', () => {
      it('brings services up in order with prefixed output, runs CMD once they are ready, exits with its code and leaves nothing', async () => {
        process.env.STOPS = join(sb.dir, 'stops.txt');
        const web = join(sb.scan, 'web', 'supervise', 'status.json');
        sb.service('db', polite('db'));
        sb.service('web', polite('web'), { requires: 'db' });
        const b = startSvctl(sb, ['boot', '--', 'sh', '-c', `grep -q '"state": "up"' ${web} && echo cmd-saw-web-up; exit 7`]);
        delete process.env.STOPS;
        const r = await b.done;
        expect(r.code).toBe(7);
        expect(r.stdout).toMatch(/^db {2}\| out db-hello$/m);
        expect(r.stdout).toMatch(/^web \| out web-hello$/m);
        expect(r.stdout).toMatch(/^web \| svrun started pid \d+$/m);
        expect(r.stdout).toContain('cmd-saw-web-up\n');
        const dbReady = r.stdout.indexOf('db  | svrun ready');
        expect(dbReady).toBeGreaterThanOrEqual(0);
        expect(dbReady).toBeLessThan(r.stdout.indexOf('web | svrun started')); // web waited for db
        expect(readFileSync(join(sb.dir, 'stops.txt'), 'utf8')).toBe('web\ndb\n'); // reverse order
        expect(sb.status('db')!.state).toBe('down');
        expect(sb.status('web')!.state).toBe('down');
        expect(sb.tokenPids()).toEqual([]);
      });

      it('SIGTERM shuts down in reverse order and exits 0; a service that ignores it is killed at --shutdown-timeout', async () => {
        process.env.STOPS = join(sb.dir, 'stops.txt');
        const m = sb.marker('stubborn');
        sb.service('db', polite('db'));
        sb.service('web', polite('web'), { requires: 'db' });
        sb.service('stuck', `trap '' TERM; exec ${m} 1000`, { 'timeout-kill': '60000' });
        const b = startSvctl(sb, ['boot', '--shutdown-timeout', '1500']);
        delete process.env.STOPS;
        await sb.waitStatus('web', (s) => s.state === 'up', 'web up');
        await waitFor(() => existsSync(join(sb.scan, 'web', 'web.trapped')) && existsSync(join(sb.scan, 'db', 'db.trapped')), 'traps set');
        await waitFor(() => pidsByArgv0(m).length === 1, 'the stubborn service');
        const t0 = Date.now();
        b.child.kill('SIGTERM');
        const r = await b.done;
        expect(r.code).toBe(0);
        // --shutdown-timeout 1.5 s, then SIGKILL: never timeout-kill's 60 s (how fast: bench)
        expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);
        expect(Date.now() - t0).toBeLessThan(60_000);
        expect(readFileSync(join(sb.dir, 'stops.txt'), 'utf8')).toBe('web\ndb\n');
        expect(pidsByArgv0(m)).toEqual([]);
        expect(sb.tokenPids()).toEqual([]);
      });

      it('past --shutdown-timeout, a service that forks all the time leaves nothing behind (boot kills again what appears)', async () => {
        const m = sb.marker('forker');
        // ignores TERM and forks a long sleeper every few ms: some are born between boot's look at its descendants and its kill
        sb.service('forker', `trap '' TERM; while :; do ${m} 1000 & sleep 0.005; done`, { 'timeout-kill': '60000' });
        const b = startSvctl(sb, ['boot', '--shutdown-timeout', '300']);
        await waitFor(() => pidsByArgv0(m).length >= 20, 'the service forking');
        b.child.kill('SIGTERM');
        expect((await b.done).code).toBe(0);
        expect(pidsByArgv0(m)).toEqual([]);
        expect(sb.tokenPids()).toEqual([]);
      });

      it('reaps orphans re-parented to it', async () => {
        const m = sb.marker('orphan');
        sb.service('parent', `( ${m} 0.5 & ) ; exec sleep 1000`);
        const b = startSvctl(sb, ['boot']);
        const [orphan] = await waitFor(() => (pidsByArgv0(m).length === 1 ? pidsByArgv0(m) : null), 'the orphan');
        // its parent subshell exited: it belongs to boot now (the child subreaper)
        await waitFor(() => procStat(orphan!)?.ppid === b.child.pid, 'the orphan to be re-parented to boot');
        // it exits after 0.5 s; a zombie nobody reaps would stay in /proc
        await waitFor(() => procStat(orphan!) === null, 'the orphan to be reaped (gone from /proc, not a zombie)', 5000);
        b.child.kill('SIGTERM');
        expect((await b.done).code).toBe(0);
      });

      const canUnshare = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;
      it.runIf(canUnshare)(
        'as PID 1 of its own pid namespace: reaps orphans, runs CMD, exits with its code (needs unshare, root)',
        async () => {
          const m = sb.marker('orphan');
          sb.service('parent', `( ${m} 0.3 & ) ; exec sleep 1000`);
          // CMD, inside the namespace: wait until the orphan has exited, then until no zombie is left (or fail)
          const zombies = `grep -l '^[0-9]* ([^)]*) Z' /proc/[0-9]*/stat 2>/dev/null | wc -l`;
          const script = [
            // by comm (the marker's file name), not cmdline: this very script names the marker
            `i=0; until grep -qx ${basename(m)} /proc/[0-9]*/comm 2>/dev/null; do i=$((i+1)); [ $i -gt 200 ] && exit 90; sleep 0.02; done`,
            // gone from /proc entirely: a zombie would keep its comm
            `i=0; while grep -qx ${basename(m)} /proc/[0-9]*/comm 2>/dev/null; do i=$((i+1)); [ $i -gt 200 ] && exit 91; sleep 0.02; done`,
            `i=0; while [ "$(${zombies})" -gt 0 ]; do i=$((i+1)); [ $i -gt 150 ] && exit 92; sleep 0.02; done`,
            'echo "pid1=$(cat /proc/1/cmdline | tr "\\0" " ")"; exit 5',
          ].join('\n');
          const r = await sb.exec(
            'unshare',
            ['--pid', '--fork', '--mount-proc', process.execPath, SVCTL, 'boot', '--', 'sh', '-c', script],
            30_000,
          );
          expect(r.stderr).toBe('');
          expect(r.code).toBe(5);
          expect(r.stdout).toMatch(/^pid1=\S*node \S*svctl\.js boot/m);
        },
      );

      it.runIf(canUnshare)(
        "svctl restart from outside its pid namespace: the new supervisor runs with --log stdout and its lines reach boot's stdout; logs says where they go",
        async () => {
          const m = sb.marker('web');
          const dir = sb.service('web', `echo "web-hello $$"\nexec ${m} 1000`, { 'timeout-kill': '300' });
          const out = sb.path('boot.out');
          const fo = openSync(out, 'w');
          const fe = openSync(sb.path('boot.err'), 'w');
          const ns = spawn('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, SVCTL, 'boot'], {
            env: sb.env,
            stdio: ['ignore', fo, fe],
            cwd: sb.dir,
          });
          closeSync(fo);
          closeSync(fe);
          const stdout = () => readFileSync(out, 'utf8');
          // pids inside the namespace (status.json and $$ agree there)
          const first = await sb.waitStatus('web', (x) => x.state === 'up', 'web up under boot', 10_000);
          await waitFor(
            () => stdout().includes(`web | out web-hello ${first.pid}\n`),
            () => `boot's stdout: ${stdout()}`,
            10_000,
          );

          // from outside the namespace, on the same scan directory
          const r = await sb.svctl(['restart', 'web']);
          expect(r).toMatchObject({ code: 0, stderr: '' });
          // started from outside: pids as we see them
          const again = await sb.waitRunning('web', m, 10_000);
          expect(again.supervisor!.pid).not.toBe(first.supervisor!.pid);
          await waitFor(
            () => stdout().includes(`web | out web-hello ${again.pid}\n`),
            () => `the new run's line on boot's stdout: ${stdout()}`,
            10_000,
          );
          const [svrun] = svrunPids(dir);
          expect(svrun).toBe(again.supervisor!.pid);
          const argv = readFileSync(`/proc/${svrun}/cmdline`, 'utf8').split('\0');
          expect(argv.join(' ')).toContain(' --log stdout --log-width 3 ');

          // its log/current holds only what was there before: svctl logs says where the lines are instead
          const logs = await sb.svctl(['logs', 'web']);
          expect(logs).toMatchObject({ code: 1, stdout: '', stderr: `svctl: web: logs through svctl boot to ${out}\n` });

          // boot (PID 1 inside, unshare's child outside) shuts the outside supervisor down too, its last lines on stdout
          const boot = Number(readFileSync(`/proc/${ns.pid}/task/${ns.pid}/children`, 'utf8').trim().split(' ')[0]);
          expect(procStat(boot)?.ppid).toBe(ns.pid);
          process.kill(boot, 'SIGTERM');
          expect(await exitOf(ns)).toBe(0);
          // inside its namespace boot sees the outside supervisor gone once its control FIFO has no reader,
          // which svrun closes before its last teardown steps (log, reaper, cgroup, lock): it exits a moment later
          await waitFor(() => !isAlive(svrun), 'the outside svrun to exit', 5000);
          expect(stdout()).toMatch(/^web \| svrun down$/m);
          expect(sb.status('web')!.state).toBe('down');
          // the record is gone with boot: a later svctl up logs to log/current again
          expect(existsSync(join(sb.scan, '.svctl.boot'))).toBe(false);
          expect(existsSync(join(sb.scan, '.svctl.stdout'))).toBe(false);
        },
      );

      it('exit code 128+N when CMD is killed by signal N', async () => {
        sb.service('db', 'exec sleep 1000');
        const r = await startSvctl(sb, ['boot', '--', 'sh', '-c', 'kill -TERM $$']).done;
        expect(r.code).toBe(143);
      });

      it('an invalid scan directory: exit 2 before starting anything', async () => {
        const m = sb.marker('db');
        sb.service('db', `exec ${m} 1000`);
        sb.service('web', 'exec sleep 1000', { requires: 'nope' });
        const r = await startSvctl(sb, ['boot']).done;
        expect(r.code).toBe(2);
        expect(r.stderr).toBe('svctl: web/requires: unknown service "nope"\n');
        expect(pidsByArgv0(m)).toEqual([]);
        expect(sb.status('db')).toBeNull();
      });

      it('a service that fails to come up: shuts down and exits 1', async () => {
        sb.service('db', 'exec sleep 1000');
        sb.service('migrate', 'echo cannot migrate >&2; exit 3', { type: 'oneshot', requires: 'db' });
        const r = await startSvctl(sb, ['boot', '--', 'sh', '-c', 'echo never']).done;
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/^svctl: migrate: failed/m);
        expect(r.stdout).not.toContain('never');
        expect(r.stdout).toMatch(/^db {6}\| svrun started pid \d+$/m); // db was up, so "down" below means shut down
        expect(sb.status('db')!.state).toBe('down');
      });

      it('watches the scan directory: a folder added is brought up, a folder removed is brought down', async () => {
        const m = sb.marker('late');
        sb.service('db', 'exec sleep 1000');
        const b = startSvctl(sb, ['boot']);
        await sb.waitStatus('db', (s) => s.state === 'up', 'db up');
        // the folder appears complete (renamed into place), as a deployment would do it
        const staged = join(sb.dir, 'late');
        sb.service('../late', `exec ${m} 1000`);
        renameSync(staged, join(sb.scan, 'late'));
        const up = await sb.waitStatus('late', (s) => s.state === 'up', 'late up', 10_000);
        await waitFor(() => pidsByArgv0(m).length === 1, 'late running');
        rmSync(join(sb.scan, 'late'), { recursive: true, force: true });
        await waitFor(() => pidsByArgv0(m).length === 0 && !isAlive(up.supervisor!.pid), 'late and its supervisor gone', 10_000);
        expect(b.child.exitCode).toBeNull();
        b.child.kill('SIGTERM');
        expect(await exitOf(b.child)).toBe(0);
      });

      it('shutdown stops a service whose folder became invalid, with its down-signal (no data lost), and warns', async () => {
        const m = sb.marker('redis');
        const dir = sb.service('redis', `trap 'touch ${sb.path('redis.saved')}; exit 0' TERM\n${m} 1000 &\nwait`, {
          'timeout-kill': '3000',
        });
        const b = startSvctl(sb, ['boot', '--shutdown-timeout', '10000']);
        await waitFor(() => pidsByArgv0(m).length === 1, 'redis running (its trap set)', 10_000);
        sb.write(dir, 'timeout-kill', '10s');
        b.child.kill('SIGTERM');
        const r = await b.done;
        expect(r.code).toBe(0);
        expect(existsSync(sb.path('redis.saved'))).toBe(true);
        expect(r.stderr).toContain(
          'svctl: warning: redis/timeout-kill: expected milliseconds, got "10s" (stopping redis with the settings its supervisor holds)\n',
        );
        expect(r.stdout).toMatch(/^redis \| svrun stopping: SIGTERM$/m);
        expect(sb.tokenPids()).toEqual([]);
      });

      it('supervises the supervisors: a SIGKILLed svrun is started again at once, logged, after its leftovers are stopped; one asked to go is not', async () => {
        const m = sb.marker('web');
        const g = sb.marker('grandchild');
        sb.service('web', `${g} 1000 &\ntrap '' TERM\nexec ${m} 1000`, { 'timeout-kill': '300' });
        sb.service('db', 'exec sleep 1000');
        const b = startSvctl(sb, ['boot']);
        await waitFor(() => pidsByArgv0(m).length === 1 && pidsByArgv0(g).length === 1, 'web running', 10_000);
        const first = await sb.waitStatus('web', (s) => s.state === 'up', 'web up');
        // boot's bring-up over (hosted: the same host holds db, which must not die before it is asked up)
        await sb.waitStatus('db', (s) => s.state === 'up', 'db up');
        const old = [...pidsByArgv0(m), ...pidsByArgv0(g)];
        process.kill(first.supervisor!.pid, 'SIGKILL');
        await waitFor(
          () => b.stderr().includes(`svctl: boot: web: supervisor pid ${first.supervisor!.pid} died (killed by SIGKILL); restarting it\n`),
          () => `the restart logged: ${b.stderr()}`,
          10_000,
        );
        const again = await sb.waitStatus(
          'web',
          (s) => s.state === 'up' && s.supervisor!.pid !== first.supervisor!.pid && isAlive(s.supervisor!.pid),
          'web up under a new supervisor',
          10_000,
        );
        for (const pid of old) expect(isAlive(pid), `leftover ${pid}`).toBe(false);
        await waitFor(() => pidsByArgv0(m).length === 1 && pidsByArgv0(g).length === 1, 'web running once again', 10_000);
        // asked to go: svctl down inside the container (hosted: web leaves the host, which still hosts db)
        expect((await sb.svctl(['down', 'web'])).code).toBe(0);
        expect(isAlive(again.supervisor!.pid)).toBe(hosted);
        expect(sb.status('db')!.supervisor!.pid === again.supervisor!.pid).toBe(hosted);
        // a SIGKILL of another supervisor is noticed, so the down above would have been by now too
        const db = sb.status('db')!;
        process.kill(db.supervisor!.pid, 'SIGKILL');
        await sb.waitStatus(
          'db',
          (s) => s.supervisor!.pid !== db.supervisor!.pid && isAlive(s.supervisor!.pid),
          'db under a new supervisor',
          10_000,
        );
        expect(b.stderr()).not.toContain(`web: supervisor pid ${again.supervisor!.pid} died`);
        expect(sb.status('web')!.want).toBe('down'); // asked to go
        expect(pidsByArgv0(m)).toEqual([]);
        b.child.kill('SIGTERM');
        const r = await b.done;
        expect(r.code).toBe(0);
        // hosted: the first SIGKILL was web's and db's host
        expect(r.stderr.match(/died/g)).toHaveLength(hosted ? 3 : 2);
        expect(sb.tokenPids()).toEqual([]);
      });

      it('a symlinked service folder (scan/web -> elsewhere/web) is supervised, and its SIGKILLed supervisor started again', async () => {
        // the respawner reads the scan directory as svctl does (src/scan.ts): a symlink to a folder is a service
        const m = sb.marker('web');
        const real = sb.path('elsewhere/web');
        sb.write(real, 'run', `#!/bin/bash\nexec ${m} 1000\n`);
        symlinkSync(real, join(sb.scan, 'web'));
        const b = startSvctl(sb, ['boot']);
        const first = await sb.waitRunning('web', m, 10_000);
        const pid = first.supervisor!.pid;
        process.kill(pid, 'SIGKILL');
        await waitFor(
          () => b.stderr().includes(`svctl: boot: web: supervisor pid ${pid} died (killed by SIGKILL); restarting it\n`),
          () => `the restart logged: ${b.stderr()}`,
          10_000,
        );
        const again = await sb.waitStatus(
          'web',
          (s) => s.state === 'up' && s.supervisor!.pid !== pid && isAlive(s.supervisor!.pid),
          'web up under a new supervisor',
          10_000,
        );
        expect(again.supervisor!.pid).not.toBe(pid);
        await sb.waitRunning('web', m, 10_000);
        expect(pidsByArgv0(m)).toHaveLength(1);
        b.child.kill('SIGTERM');
        expect((await b.done).code).toBe(0);
        expect(sb.tokenPids()).toEqual([]);
      });

      it('a supervisor that keeps dying at once is restarted with a backoff', async () => {
        sb.service('web', 'exec sleep 1000');
        const b = startSvctl(sb, ['boot']);
        let s = await sb.waitStatus('web', (x) => x.state === 'up', 'web up');
        const lines: RegExp[] = [/restarting it\n/, /restarting it in 100 ms\n/, /restarting it in 200 ms\n/];
        for (const line of lines) {
          const pid = s.supervisor!.pid;
          process.kill(pid, 'SIGKILL');
          await waitFor(
            () => new RegExp(`web: supervisor pid ${pid} died \\(killed by SIGKILL\\); ${line.source}`).test(b.stderr()),
            () => `${line}: ${b.stderr()}`,
            10_000,
          );
          s = await sb.waitStatus(
            'web',
            (x) => x.state === 'up' && x.supervisor!.pid !== pid && isAlive(x.supervisor!.pid),
            'a new supervisor',
            10_000,
          );
        }
        b.child.kill('SIGTERM');
        expect((await b.done).code).toBe(0);
      });
    });
  },
);
