// svctl down and restart: reverse dependency order, supervisors exit,
// dependents taken along, leftovers of a killed supervisor stopped.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sendControl } from '../src/control.js';
import { isAlive, pidsByArgv0, Sandbox, svrunPids, waitFor, withSandbox } from './helpers.js';

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

describe('svctl down', () => {
  it('stops in reverse dependency order, and every supervisor exits', async () => {
    recorder('a');
    recorder('b', { requires: 'a' });
    recorder('c', { requires: 'b' });
    expect((await sb.svctl(['up'])).code).toBe(0);
    const supervisors = ['a', 'b', 'c'].map((n) => sb.status(n)!.supervisor!.pid);
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
    expect(check.stdout.split('\n').filter(Boolean).map((l) => l.split(':')[0]).sort()).toEqual(['api', 'db', 'web']);
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
    sb.service('slow', `trap 'sleep 5; exit 0' TERM\n${sb.marker('slow')} 1000 &\nwait`, { 'timeout-kill': '0' });
    expect((await sb.svctl(['up'])).code).toBe(0);
    await waitFor(() => pidsByArgv0(sb.marker('slow')).length === 1, 'running', SLOW);
    const r = await sb.svctl(['down', '-t', '400']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^svctl: slow: still stopping after \d+ ms \(supervisor pid \d+\)\n$/);
  });
});

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

  it('needs a name', async () => {
    const r = await sb.svctl(['restart']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^svctl: .*missing required argument/);
  });
});

const at = (iso: unknown) => Date.parse(String(iso));
