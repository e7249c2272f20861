// svctl down and restart: reverse dependency order, supervisors exit,
// dependents taken along, leftovers of a killed supervisor stopped.

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sendControl } from '../../../src/supervise/control.js';
import { inBothModes, isAlive, pidsByArgv0, type Sandbox, svrunPids, taskReaperPid, waitFor, withSandbox } from '../../helpers.js';

/** Deadline for events that involve starting node processes on a busy machine. */
const SLOW = 10_000;

let sb!: Sandbox;
withSandbox((s) => (sb = s));

/** Records its stop in `stops` (on TERM) before it exits. */
const recorder = (name: string, files: Record<string, string> = {}) =>
  sb.service(name, `trap 'echo ${name} >> ${sb.path('stops')}; exit 0' TERM\n${sb.marker(name)} 1000 &\nwait`, {
    'timeout-kill': '2000',
    ...files,
  });

const control = (name: string) => join(sb.scan, name, 'supervise', 'control');

inBothModes(
  () => sb,
  () => {
    describe('svctl down', () => {
      it('stops in reverse dependency order, and every supervisor exits', async () => {
        recorder('a');
        recorder('b', { requires: 'a' });
        recorder('c', { requires: 'b' });
        expect((await sb.svctl(['up'])).code).toBe(0);
        const supervisors = ['a', 'b', 'c'].map((n) => sb.status(n)!.supervisor!.pid);
        for (const pid of supervisors) expect(isAlive(pid)).toBe(true); // their exit is checked below
        const r = await sb.svctl(['down']);
        expect(r).toMatchObject({ code: 0, stderr: '' });
        expect(sb.lines('stops')).toEqual(['c', 'b', 'a']);
        for (const n of ['a', 'b', 'c']) {
          expect(sb.status(n)!.state).toBe('down');
          expect(sendControl(control(n), 'u')).toBe('not-supervised');
        }
        for (const pid of supervisors) expect(isAlive(pid)).toBe(false);
      });

      it('down NAME takes down what requires it first, and leaves the rest running', async () => {
        recorder('db');
        recorder('api', { requires: 'db' });
        recorder('web', { requires: 'api' });
        recorder('other');
        expect((await sb.svctl(['up'])).code).toBe(0);
        const r = await sb.svctl(['down', 'db']);
        expect(r).toMatchObject({ code: 0, stderr: '' });
        expect(sb.lines('stops')).toEqual(['web', 'api', 'db']);
        expect(sb.status('other')!.state).toBe('up');
        const check = await sb.svctl(['check']);
        expect(check.code).toBe(1);
        expect(
          check.stdout
            .split('\n')
            .filter(Boolean)
            .map((l) => l.split(':')[0])
            .sort(),
        ).toEqual(['api', 'db', 'web']);
      });

      it('is quick when nothing runs, and stops the leftovers of a SIGKILLed supervisor', async () => {
        expect((await sb.svctl(['down'])).code).toBe(0);
        sb.service('stubborn', `trap '' TERM\nexec ${sb.marker('stubborn')} 1000`, { 'timeout-kill': '300' });
        expect((await sb.svctl(['up'])).code).toBe(0);
        const s = sb.status('stubborn')!;
        await waitFor(() => pidsByArgv0(sb.marker('stubborn')).length === 1, 'the service running', SLOW);
        process.kill(s.supervisor!.pid, 'SIGKILL');
        await waitFor(() => !isAlive(s.supervisor!.pid), 'the supervisor gone', SLOW);
        expect(pidsByArgv0(sb.marker('stubborn'))).toEqual([s.pid]);
        const r = await sb.svctl(['down']);
        expect(r).toMatchObject({ code: 0, stderr: '' });
        expect(pidsByArgv0(sb.marker('stubborn'))).toEqual([]);
        expect(svrunPids(join(sb.scan, 'stubborn'))).toEqual([]);
      });

      it('reports a service that does not stop in time (-t)', async () => {
        // on TERM it takes until the test lets it go (after -t has passed)
        const release = sb.path('release');
        sb.service('slow', `trap 'until [ -e ${release} ]; do sleep 0.05; done; exit 0' TERM\n${sb.marker('slow')} 1000 &\nwait`, {
          'timeout-kill': '0',
        });
        expect((await sb.svctl(['up'])).code).toBe(0);
        await waitFor(() => pidsByArgv0(sb.marker('slow')).length === 1, 'running', SLOW);
        const r = await sb.svctl(['down', '-t', '400']);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/^svctl: slow: still stopping after \d+ ms \(supervisor pid \d+\)\n$/);
        writeFileSync(release, '');
      });
    });

    describe('stopping never waits on valid folders', () => {
      /** Like redis: on TERM it saves (a file) before it exits. */
      const saver = (name: string, files: Record<string, string> = {}) =>
        sb.service(
          name,
          `trap 'touch ${sb.path(`${name}.saved`)}; echo ${name} >> ${sb.path('stops')}; exit 0' TERM\n${sb.marker(name)} 1000 &\nwait`,
          {
            'timeout-kill': '2000',
            ...files,
          },
        );

      it('down stops a running service whose folder became invalid, with its down-signal, and warns', async () => {
        const dir = saver('redis');
        expect((await sb.svctl(['up'])).code).toBe(0);
        await waitFor(() => pidsByArgv0(sb.marker('redis')).length === 1, 'redis running (its trap set)', SLOW);
        const s = sb.status('redis')!;
        expect(isAlive(s.supervisor!.pid)).toBe(true); // its exit is checked below
        sb.write(dir, 'timeout-kill', '10s');
        const r = await sb.svctl(['down']);
        expect(r.stderr).toBe(
          'svctl: warning: redis/timeout-kill: expected milliseconds, got "10s" (stopping redis with the settings its supervisor holds)\n',
        );
        expect(r.code).toBe(0);
        expect(existsSync(sb.path('redis.saved'))).toBe(true);
        expect(isAlive(s.supervisor!.pid)).toBe(false);
        expect(pidsByArgv0(sb.marker('redis'))).toEqual([]);
      });

      it('down OTHER works while an unrelated folder is invalid, and says nothing about it', async () => {
        saver('other');
        const broken = saver('broken');
        expect((await sb.svctl(['up'])).code).toBe(0);
        await waitFor(() => pidsByArgv0(sb.marker('other')).length === 1, 'other running (its trap set)', SLOW);
        sb.write(broken, 'timeout-kill', '10s');
        const r = await sb.svctl(['down', 'other']);
        expect(r).toMatchObject({ code: 0, stderr: '' });
        expect(existsSync(sb.path('other.saved'))).toBe(true);
        expect(sb.status('broken')!.state).toBe('up');
      });

      it('signal reaches the supervisor of an invalid folder, with a warning', async () => {
        const dir = sb.service('hup', `trap 'touch ${sb.path('hup.got')}' HUP\n${sb.marker('hup')} 1000 &\nwhile :; do wait; done`, {
          'timeout-kill': '300',
        });
        expect((await sb.svctl(['up'])).code).toBe(0);
        await waitFor(() => pidsByArgv0(sb.marker('hup')).length === 1, 'hup running (its trap set)', SLOW);
        sb.write(dir, 'down-signal', 'BOGUS');
        const r = await sb.svctl(['signal', 'HUP', 'hup']);
        expect(r.code).toBe(0);
        expect(r.stderr).toMatch(
          /^svctl: warning: hup\/down-signal: expected TERM.*got "BOGUS" \(the signal goes to hup's supervisor, which holds the settings it started with\)\n$/,
        );
        await waitFor(() => existsSync(sb.path('hup.got')), 'the HUP to arrive', SLOW);
      });

      it('a dependent whose folder became invalid is still stopped before what it requires (the requires it started with)', async () => {
        saver('db');
        const web = saver('web', { requires: 'db' });
        expect((await sb.svctl(['up'])).code).toBe(0);
        await waitFor(() => pidsByArgv0(sb.marker('web')).length === 1, 'web running (its trap set)', SLOW);
        // its folder no longer says it requires db, and is invalid besides
        sb.write(web, 'requires', 'nope');
        sb.write(web, 'timeout-kill', 'soon');
        const r = await sb.svctl(['down']);
        expect(r.code).toBe(0);
        expect(r.stderr).toBe(
          'svctl: warning: web/timeout-kill: expected milliseconds, got "soon"; web/requires: unknown service "nope" (stopping web with the settings its supervisor holds)\n',
        );
        expect(sb.lines('stops')).toEqual(['web', 'db']);
      });

      it('down NAME of an invalid folder that runs nothing: exit 0 and a warning', async () => {
        sb.service('idle', 'exec sleep 1000', { 'timeout-kill': 'x' });
        const r = await sb.svctl(['down', 'idle']);
        expect(r).toMatchObject({
          code: 0,
          stderr: 'svctl: warning: idle/timeout-kill: expected milliseconds, got "x" (idle has no supervisor)\n',
        });
      });

      it('leftovers of a killed supervisor whose folder is invalid: exit 1 naming why svrun cannot stop them', async () => {
        const dir = sb.service('stubborn', `trap '' TERM\nexec ${sb.marker('stubborn')} 1000`, { 'timeout-kill': '300' });
        expect((await sb.svctl(['up'])).code).toBe(0);
        const s = await sb.waitRunning('stubborn', sb.marker('stubborn'), SLOW);
        // the task reaper gone too (else it stops them): what the next supervisor and svctl must handle
        process.kill(await waitFor(() => taskReaperPid(dir), 'the task reaper', SLOW), 'SIGKILL');
        process.kill(s.supervisor!.pid, 'SIGKILL');
        await waitFor(() => !isAlive(s.supervisor!.pid), 'the supervisor gone', SLOW);
        sb.write(dir, 'timeout-kill', 'x');
        const r = await sb.svctl(['down']);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(
          'svctl: stubborn: processes a killed supervisor left are still running: svrun cannot run it (stubborn/timeout-kill: expected milliseconds, got "x")\n',
        );
        expect(pidsByArgv0(sb.marker('stubborn'))).toEqual([s.pid]);
      });
    });

    describe('processes a SIGKILLed supervisor left', () => {
      /** A main process that ignores TERM (and so its parent-death signal), with a grandchild in its group. */
      const stubborn = () =>
        sb.service('stubborn', `${sb.marker('grandchild')} 1000 &\ntrap '' TERM\nexec ${sb.marker('stubborn')} 1000`, {
          'timeout-kill': '300',
        });

      const killSupervisor = async () => {
        expect((await sb.svctl(['up'])).code).toBe(0);
        await waitFor(
          () => pidsByArgv0(sb.marker('stubborn')).length === 1 && pidsByArgv0(sb.marker('grandchild')).length === 1,
          'both running',
          SLOW,
        );
        const s = sb.status('stubborn')!;
        // the task reaper gone too (else it stops them): what the next supervisor and svctl must handle
        process.kill(await waitFor(() => taskReaperPid(join(sb.scan, 'stubborn')), 'the task reaper', SLOW), 'SIGKILL');
        process.kill(s.supervisor!.pid, 'SIGKILL');
        await waitFor(() => !isAlive(s.supervisor!.pid), 'the supervisor gone', SLOW);
        return s;
      };

      it('status shows them as unsupervised (table, --json, check), and up stops them before it starts anew', async () => {
        stubborn();
        const s = await killSupervisor();
        const old = [...pidsByArgv0(sb.marker('stubborn')), ...pidsByArgv0(sb.marker('grandchild'))];
        expect(old).toHaveLength(2);
        const table = await sb.svctl(['status']);
        expect(table.stdout).toMatch(new RegExp(`^stubborn +unsupervised +${s.pid} `, 'm'));
        const json = JSON.parse((await sb.svctl(['status', '--json'])).stdout) as Record<string, unknown>[];
        expect(json[0]).toMatchObject({ name: 'stubborn', state: 'down', supervised: false, leftovers: { pgid: s.pid } });
        expect((await sb.svctl(['check'])).stdout).toBe(`stubborn: down (not supervised; process group ${s.pid} still runs)\n`);
        expect((await sb.svctl(['up'])).code).toBe(0);
        for (const pid of old) expect(isAlive(pid), `old pid ${pid}`).toBe(false);
        await waitFor(() => pidsByArgv0(sb.marker('stubborn')).length === 1, 'the new run', SLOW);
        const after = JSON.parse((await sb.svctl(['status', '--json'])).stdout) as Record<string, unknown>[];
        expect(after[0]).toMatchObject({ state: 'up', supervised: true, leftovers: null });
      });

      it('down stops the grandchildren too, and status then shows down', async () => {
        stubborn();
        await killSupervisor();
        expect(await sb.svctl(['down'])).toMatchObject({ code: 0, stderr: '' });
        expect(pidsByArgv0(sb.marker('stubborn'))).toEqual([]);
        expect(pidsByArgv0(sb.marker('grandchild'))).toEqual([]);
        expect((await sb.svctl(['status'])).stdout).toMatch(/^stubborn +down +- /m);
      });
    });
  },
);

inBothModes(
  () => sb,
  () => {
    describe('svctl restart', () => {
      it('takes the running services that require it along, and nothing else', async () => {
        recorder('db');
        recorder('api', { requires: 'db' });
        recorder('other');
        recorder('extra', { requires: 'db', down: '' }); // not running: stays down
        expect((await sb.svctl(['up'])).code).toBe(0);
        const before = Object.fromEntries(['db', 'api', 'other'].map((n) => [n, sb.status(n)!]));
        const r = await sb.svctl(['restart', 'db']);
        expect(r).toMatchObject({ code: 0, stderr: '' });
        expect(sb.lines('stops')).toEqual(['api', 'db']);
        for (const n of ['db', 'api']) {
          const s = sb.status(n)!;
          expect(s.state).toBe('up');
          expect(s.pid).not.toBe(before[n]!.pid);
          expect(s.supervisor!.pid).not.toBe(before[n]!.supervisor!.pid);
        }
        expect(sb.status('other')!.pid).toBe(before.other!.pid);
        expect(sb.status('extra')).toBeNull();
        expect(at(sb.status('api')!.startedAt)).toBeGreaterThanOrEqual(at(sb.status('db')!.readyAt));
      });

      it('--no-deps restarts only the named services: a running dependent keeps its pid and supervisor (without it, both change)', async () => {
        recorder('db');
        recorder('api', { requires: 'db' });
        expect((await sb.svctl(['up'])).code).toBe(0);
        const api0 = sb.status('api')!;
        const db0 = sb.status('db')!;
        expect(isAlive(api0.pid)).toBe(true);
        const r = await sb.svctl(['restart', '--no-deps', 'db']);
        expect(r).toMatchObject({ code: 0, stderr: '' });
        expect(sb.lines('stops')).toEqual(['db']);
        const db1 = sb.status('db')!;
        expect(db1.state).toBe('up');
        expect(db1.pid).not.toBe(db0.pid);
        expect(db1.supervisor!.pid).not.toBe(db0.supervisor!.pid);
        const api1 = sb.status('api')!;
        expect(api1.pid).toBe(api0.pid);
        expect(api1.supervisor!.pid).toBe(api0.supervisor!.pid);
        expect(isAlive(api0.pid)).toBe(true);
        // the default takes api along: its pid changes
        expect((await sb.svctl(['restart', 'db'])).code).toBe(0);
        expect(sb.lines('stops')).toEqual(['db', 'api', 'db']);
        const api2 = sb.status('api')!;
        expect(api2.state).toBe('up');
        expect(api2.pid).not.toBe(api0.pid);
        expect(isAlive(api0.pid)).toBe(false);
      });

      it('needs a name', async () => {
        const r = await sb.svctl(['restart']);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/^svctl: .*missing required argument/);
      });
    });
  },
);

const at = (iso: unknown) => Date.parse(String(iso));
