// svctl up and once on real processes: dependency order, readiness gating,
// concurrency, failures and their reports, svrun failing fast, a dead
// supervisor replaced without a double run.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sendControl } from '../../../src/supervise/control.js';
import { inBothModes, pidsByArgv0, type Sandbox, startSvctl, svrunPids, taskReaperPid, waitFor, withSandbox } from '../../helpers.js';

/** Deadline for events that involve starting node processes on a busy machine. */
const SLOW = 10_000;

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const at = (iso: unknown) => Date.parse(String(iso));

/** A service that records its start in `order`, says it is ready (fd 3) once `gate` exists, then runs. */
const gated = (name: string, gate: string | null, files: Record<string, string> = {}) =>
  sb.service(
    name,
    [
      `echo ${name} >> ${sb.path('order')}`,
      gate ? `while [ ! -e ${sb.path(gate)} ]; do sleep 0.02; done` : '',
      'echo ready >&3',
      `exec ${sb.marker(name)} 1000`,
    ].join('\n'),
    { 'notification-fd': '3', 'timeout-kill': '500', ...files },
  );

inBothModes(
  () => sb,
  () => {
    describe('svctl up: order and readiness', () => {
      it('starts a -> b -> c in dependency order, each after what it requires is ready', async () => {
        gated('a', null);
        gated('b', null, { requires: 'a' });
        gated('c', null, { requires: 'b' });
        const r = await sb.svctl(['up', 'c']);
        expect(r).toMatchObject({ code: 0, stderr: '' });
        expect(sb.lines('order')).toEqual(['a', 'b', 'c']);
        const [a, b, c] = ['a', 'b', 'c'].map((n) => sb.status(n)!);
        expect(at(b!.startedAt)).toBeGreaterThanOrEqual(at(a!.readyAt));
        expect(at(c!.startedAt)).toBeGreaterThanOrEqual(at(b!.readyAt));
        for (const n of ['a', 'b', 'c']) expect(pidsByArgv0(sb.marker(n))).toHaveLength(1);
      });

      it('b starts only once a is ready (notification-fd), not when a is spawned', async () => {
        gated('a', 'go-a');
        gated('b', null, { requires: 'a' });
        const up = startSvctl(sb, ['up', 'b']);
        await waitFor(() => sb.lines('order').length > 0, 'a running', SLOW);
        // status.json follows the spawn (svrun writes it once the child exists): wait for it, bounded
        await waitFor(() => sb.status('a')?.state === 'starting', 'a starting in status.json');
        // not started (hosted: its supervisor is there, holding it down)
        expect(sb.status('b')?.state ?? 'down').toBe('down');
        expect(sb.lines('order')).toEqual(['a']);
        const released = Date.now();
        writeFileSync(sb.path('go-a'), '');
        const r = await up.done;
        expect(r).toMatchObject({ code: 0, stderr: '' });
        const [a, b] = [sb.status('a')!, sb.status('b')!];
        expect(at(a.readyAt)).toBeGreaterThanOrEqual(released - 5);
        expect(at(b.startedAt)).toBeGreaterThanOrEqual(at(a.readyAt));
        expect(sb.lines('order')).toEqual(['a', 'b']);
      });

      it('starts independent services concurrently (each waits for the other before it is ready)', async () => {
        for (const [me, other] of [
          ['x', 'y'],
          ['y', 'x'],
        ] as const) {
          sb.service(
            me,
            [
              `touch ${sb.path(`started-${me}`)}`,
              `while [ ! -e ${sb.path(`started-${other}`)} ]; do sleep 0.02; done`,
              'echo >&3',
              `exec ${sb.marker(me)} 1000`,
            ].join('\n'),
            { 'notification-fd': '3', 'timeout-ready': '8000' },
          );
        }
        const r = await sb.svctl(['up']);
        expect(r).toMatchObject({ code: 0, stderr: '' });
        expect(sb.status('x')!.state).toBe('up');
        expect(sb.status('y')!.state).toBe('up');
      });

      it('starts a service as soon as what it requires is ready, not when its whole level is', async () => {
        gated('slow', 'go-slow');
        gated('fast', null);
        gated('next', null, { requires: 'fast' });
        const up = startSvctl(sb, ['up']);
        await waitFor(
          () => sb.status('next')?.state === 'up',
          () =>
            `next up while slow is still starting (statuses: ${['slow', 'fast', 'next'].map((n) => `${n}=${sb.status(n)?.state}`).join(' ')}; svctl: ${up.stderr()})`,
          SLOW,
        );
        expect(sb.status('slow')!.state).toBe('starting');
        writeFileSync(sb.path('go-slow'), '');
        expect(await up.done).toMatchObject({ code: 0, stderr: '' });
      });

      it('leaves a service that is already up untouched; sends u to a supervised one that is down', async () => {
        gated('web', null);
        expect((await sb.svctl(['up'])).code).toBe(0);
        const first = sb.status('web')!;
        expect((await sb.svctl(['up', 'web'])).code).toBe(0);
        expect(sb.status('web')!.pid).toBe(first.pid);
        expect(sb.status('web')!.since).toBe(first.since);

        expect(sendControl(join(sb.scan, 'web', 'supervise', 'control'), 'd')).toBe('sent');
        await sb.waitStatus('web', (s) => s.state === 'down', 'down on d', SLOW);
        expect((await sb.svctl(['up', 'web'])).code).toBe(0);
        const again = sb.status('web')!;
        expect(again.state).toBe('up');
        expect(again.supervisor!.pid).toBe(first.supervisor!.pid);
        expect(again.pid).not.toBe(first.pid);
        expect(svrunPids(join(sb.scan, 'web'))).toEqual([first.supervisor!.pid]);
      });

      it('with no names, skips services with a down file unless one being started requires it', async () => {
        gated('lib', null, { down: '' });
        gated('app', null, { requires: 'lib' });
        gated('extra', null, { down: '' });
        expect((await sb.svctl(['up'])).code).toBe(0);
        expect(sb.status('lib')!.state).toBe('up');
        expect(sb.status('app')!.state).toBe('up');
        expect(sb.status('extra')).toBeNull();
      });
    });

    describe('svctl up: failures', () => {
      it('names the failed service with its log lines, and what was not started because of it', async () => {
        sb.service('f', 'echo "cannot open config" >&2; exit 3', { 'notification-fd': '3', restart: 'never' });
        gated('g', null, { requires: 'f' });
        gated('h', null);
        const t0 = Date.now();
        const r = await sb.svctl(['up']);
        expect(r.code).toBe(1);
        expect(Date.now() - t0).toBeLessThan(10_000); // failed for good: no wait for timeout-ready (10 s; how fast: bench)
        const err = r.stderr.split('\n').filter(Boolean);
        expect(err).toHaveLength(2);
        expect(err[0]).toMatch(/^svctl: f: failed \(exited 3\); last output: err cannot open config$/);
        expect(err[1]).toBe('svctl: g: not started because f failed');
        // never started, and no supervisor left (a host's is let go)
        expect(sb.status('g')?.startedAt ?? null).toBeNull();
        expect(JSON.parse((await sb.svctl(['status', '--json', 'g'])).stdout)[0]).toMatchObject({ state: 'down', supervised: false });
        expect(pidsByArgv0(sb.marker('g'))).toEqual([]);
        expect(sb.status('h')!.state).toBe('up');
      });

      it('a service not ready in time: timeout-ready, or -t for the whole command', async () => {
        // long enough for svrun to be running on a loaded machine: the report is about a service that started
        sb.service('never', `exec ${sb.marker('never')} 1000`, { 'notification-fd': '3', 'timeout-ready': '3000' });
        let r = await sb.svctl(['up', 'never']);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/^svctl: never: not ready after 3000 ms \(state starting\)/);
        sb.write(join(sb.scan, 'never'), 'timeout-ready', '20000');
        const t0 = Date.now();
        r = await sb.svctl(['up', 'never', '-t', '500']);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/^svctl: never: not ready after \d+ ms \(state starting\)/);
        expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
        expect(Date.now() - t0).toBeLessThan(20_000); // -t 500 bounds it, not timeout-ready's 20 s (how fast: bench)
      });

      it("shows svrun's own one-line error when it exits at once, not a timeout", async () => {
        sb.service('web', `exec ${sb.marker('web')} 1000`, { 'timeout-ready': '20000' });
        writeFileSync(join(sb.scan, 'web', 'supervise'), 'in the way\n'); // svrun cannot create supervise/
        const t0 = Date.now();
        const r = await sb.svctl(['up']);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/^svctl: web\/supervise: a regular file, not a directory\n/);
        expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
        expect(Date.now() - t0).toBeLessThan(20_000); // svrun's exit is the answer, not timeout-ready's 20 s (how fast: bench)
      });
    });

    describe('svctl up: supervisors', () => {
      it('replaces a SIGKILLed supervisor; the new one stops the leftovers first (no double run)', async () => {
        // ignores its parent-death signal: survives its supervisor, as a leftover
        sb.service('web', `trap '' TERM\nexec ${sb.marker('web')} 1000`, { 'timeout-kill': '300' });
        expect((await sb.svctl(['up'])).code).toBe(0);
        const old = sb.status('web')!;
        await waitFor(() => pidsByArgv0(sb.marker('web')).length === 1, 'the service running', SLOW);
        // its task reaper first (killed with it): the leftover is the next supervisor's to stop
        process.kill(await waitFor(() => taskReaperPid(join(sb.scan, 'web')), 'the task reaper', SLOW), 'SIGKILL');
        process.kill(old.supervisor!.pid, 'SIGKILL');
        await waitFor(() => svrunPids(join(sb.scan, 'web')).length === 0, 'the supervisor gone', SLOW);
        const st = await sb.svctl(['status', '--json', 'web']);
        expect(JSON.parse(st.stdout)[0]).toMatchObject({ supervised: false, state: 'down', pid: null });
        expect(pidsByArgv0(sb.marker('web'))).toEqual([old.pid]);

        expect((await sb.svctl(['up'])).code).toBe(0);
        const now = sb.status('web')!;
        expect(now.supervisor!.pid).not.toBe(old.supervisor!.pid);
        expect(now.pid).not.toBe(old.pid);
        await waitFor(
          () => pidsByArgv0(sb.marker('web')).length === 1 && pidsByArgv0(sb.marker('web'))[0] === now.pid,
          'only the new run',
          SLOW,
        );
        expect(svrunPids(join(sb.scan, 'web'))).toEqual([now.supervisor!.pid]);
      });

      it('once: started with want once, not restarted when it exits; what it requires comes up normally', async () => {
        gated('db', null);
        sb.service('job', `while [ ! -e ${sb.path('stop-job')} ]; do sleep 0.02; done\nexit 1`, { requires: 'db' });
        const r = await sb.svctl(['once', 'job']);
        expect(r).toMatchObject({ code: 0, stderr: '' });
        expect(sb.status('job')).toMatchObject({ want: 'once', state: 'up' });
        expect(sb.status('db')).toMatchObject({ want: 'up', state: 'up' });
        writeFileSync(sb.path('stop-job'), '');
        const s = await sb.waitStatus('job', (x) => x.state === 'failed', 'job ended, not restarted', SLOW);
        expect(s.restarts).toBe(0);
        expect(s.lastExit?.code).toBe(1);
      });
    });
  },
);
