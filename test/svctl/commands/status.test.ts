// svctl status and check in this process (test/svctl/inprocess.ts), on a scan
// directory of status files prepared with src/supervise/status.ts: no supervisor
// runs. "Supervised" is this test process recorded as the supervisor (alive,
// its real start time); "not supervised" a pid no process can have. What needs
// a real svrun (leftovers, reaping) is in query.proc.test.ts and taskreaper.proc.test.ts.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../../../src/defaults.js';
import { cmdStatus } from '../../../src/svctl/commands/status.js';
import { cmdCheck } from '../../../src/svctl/commands/check.js';
import { type Sandbox, withSandbox } from '../../helpers.js';
import { runCommand } from '../../../src/svctl/cli.js';
import { captureCtx, DEAD_PID, prepareStatus, thisProcessAsSupervisor } from '../inprocess.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const lines = (text: string) => text.split('\n').filter(Boolean);
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

/**
 * web: up under a live supervisor, 2 restarts, last exited 1; crashed: failed
 * (killed by SIGKILL) under a live supervisor, with a two-line lastError;
 * stale: recorded up, but its supervisor and service are gone; db: never run;
 * setup: a oneshot recorded up since this boot (its effect holds, no supervisor);
 * extra: has a down file; worker@ a template with one instance, worker@1, up.
 */
const prepare = () => {
  const sup = thisProcessAsSupervisor();
  const up = {
    supervisor: sup,
    state: 'up' as const,
    pid: process.pid,
    pidStart: sup.pidStart,
    startedAt: ago(3 * 3600_000),
    readyAt: ago(3 * 3600_000),
  };
  prepareStatus(sb.service('web', 'exec sleep 1000'), { ...up, restarts: 2, lastExit: { code: 1, signal: null, at: ago(3 * 3600_000) } });
  prepareStatus(sb.service('crashed', 'exit 1', { restart: 'never' }), {
    supervisor: sup,
    state: 'failed',
    lastExit: { code: null, signal: 'SIGKILL', at: ago(1000) },
    lastError: 'boom\nsecond line',
  });
  prepareStatus(sb.service('stale', 'exec sleep 1000'), {
    supervisor: { pid: DEAD_PID, pidStart: 1, startedAt: ago(60_000) },
    state: 'up',
    pid: DEAD_PID,
    pidStart: 1,
    startedAt: ago(60_000),
  });
  sb.service('db', 'exec sleep 1000');
  prepareStatus(sb.service('setup', 'true', { type: 'oneshot' }), { type: 'oneshot', state: 'up', since: ago(1000), readyAt: ago(1000) });
  sb.service('extra', 'exec sleep 1000', { down: '' });
  sb.service('worker@', 'exec sleep 1000');
  prepareStatus(sb.service('worker@1', 'exec sleep 1000'), { ...up, name: 'worker@1' });
};

describe('status (in process, prepared status files)', () => {
  it('the table: a line per service, supervised or not, instances under their template', async () => {
    prepare();
    const { ctx, out, err } = captureCtx(sb.scan);
    expect(await runCommand(ctx, (c) => cmdStatus(c, []))).toBe(EXIT_OK);
    expect(err()).toBe('');
    const rows = lines(out());
    expect(rows[0]).toMatch(/^NAME +STATE +PID +UPTIME +RESTARTS +LAST EXIT +READY +MEM +CPU$/);
    expect(rows.slice(1)).toEqual([
      expect.stringMatching(/^crashed +failed +- +- +0 +killed by SIGKILL +- +- +-$/),
      expect.stringMatching(/^db +down +- +- +0 +- +- +- +-$/),
      expect.stringMatching(/^extra +down +- +- +0 +- +- +- +-$/),
      expect.stringMatching(/^setup +up +- +- +0 +- +ready +- +-$/),
      expect.stringMatching(/^stale +down +- +- +0 +- +- +- +-$/),
      expect.stringMatching(new RegExp(`^web +up +${process.pid} +3h0\\dm +2 +exited 1 +ready +- +-$`)),
      expect.stringMatching(/^worker@ +template, 1 instance$/),
      expect.stringMatching(new RegExp(`^  worker@1 +up +${process.pid} +3h0\\dm +0 +- +ready +- +-$`)),
    ]);
  });

  it('--json: the status objects, with supervised, and nothing recorded as running where no supervisor is', async () => {
    prepare();
    const { ctx, out } = captureCtx(sb.scan, { json: true });
    expect(await runCommand(ctx, (c) => cmdStatus(c, ['web', 'stale', 'db', 'worker@']))).toBe(EXIT_OK);
    const all = JSON.parse(out()) as Record<string, unknown>[];
    expect(all.map((s) => s.name)).toEqual(['web', 'stale', 'db', 'worker@1']);
    expect(all[0]).toMatchObject({ version: 1, supervised: true, state: 'up', pid: process.pid, restarts: 2 });
    // status.json said up with a pid: a hint; with its supervisor gone it is down, no pid shown
    expect(all[1]).toMatchObject({ supervised: false, state: 'down', pid: null, pidStart: null, leftovers: null });
    expect(all[2]).toMatchObject({ name: 'db', supervised: false, state: 'down', pid: null, lastExit: null });
    expect(all[3]).toMatchObject({ name: 'worker@1', template: 'worker@', supervised: true, state: 'up' });
  });

  it.each([
    ['nope', (scan: string) => `svctl: nope: no such service in ${scan}\n`],
    ['bad name!', (scan: string) => `svctl: bad name!: no such service in ${scan}\n`],
  ])('an unknown service (%s): exit 2, one line naming it, nothing printed or written', async (name, message) => {
    prepare();
    const { ctx, out, err } = captureCtx(sb.scan);
    expect(await runCommand(ctx, (c) => cmdStatus(c, ['web', name]))).toBe(EXIT_USAGE);
    expect(err()).toBe(message(sb.scan));
    expect(out()).toBe('');
    expect(existsSync(join(sb.scan, 'db', 'supervise'))).toBe(false);
  });

  it('a missing scan directory: exit 2 naming it', async () => {
    const missing = join(sb.dir, 'nope');
    const { ctx, out, err } = captureCtx(missing);
    expect(await runCommand(ctx, (c) => cmdStatus(c, []))).toBe(EXIT_USAGE);
    expect(err()).toBe(`svctl: ${missing}: no such scan directory\n`);
    expect(out()).toBe('');
  });
});

describe('check (in process, prepared status files)', () => {
  it('exit 1 and one line per service (without a down file) that is not up; a multi-line lastError stays one line', async () => {
    prepare();
    const { ctx, out, err } = captureCtx(sb.scan);
    expect(await runCommand(ctx, (c) => cmdCheck(c, []))).toBe(EXIT_FAILED);
    expect(err()).toBe('');
    expect(lines(out())).toEqual(['crashed: failed: boom\\nsecond line', 'db: down (not supervised)', 'stale: down (not supervised)']);
  });

  it.each<[string[], number]>([
    [['web'], EXIT_OK],
    [['web', 'setup', 'worker@1'], EXIT_OK],
    [['extra'], EXIT_FAILED],
    [['stale'], EXIT_FAILED],
  ])('check %j -> exit %i', async (names, code) => {
    prepare();
    const { ctx, out } = captureCtx(sb.scan);
    expect(await runCommand(ctx, (c) => cmdCheck(c, names))).toBe(code);
    if (code === EXIT_OK) expect(out()).toBe('');
    else expect(lines(out())).toHaveLength(names.length);
  });

  it('--json: the services that are not up', async () => {
    prepare();
    const { ctx, out } = captureCtx(sb.scan, { json: true });
    expect(await runCommand(ctx, (c) => cmdCheck(c, ['web', 'stale']))).toBe(EXIT_FAILED);
    expect(JSON.parse(out())).toEqual([{ name: 'stale', state: 'down', supervised: false, leftovers: null, lastError: null }]);
  });

  it.each([
    ['nope', (scan: string) => `svctl: nope: no such service in ${scan}\n`],
    ['worker@', () => 'svctl: worker@: a template is never started itself; name an instance (worker@NAME)\n'],
  ])('%s: exit 2 with one line', async (name, message) => {
    prepare();
    const { ctx, out, err } = captureCtx(sb.scan);
    expect(await runCommand(ctx, (c) => cmdCheck(c, [name]))).toBe(EXIT_USAGE);
    expect(err()).toBe(message(sb.scan));
    expect(out()).toBe('');
  });
});
