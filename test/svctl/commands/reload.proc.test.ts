// svctl reload on real supervisors: each file change in a table is applied
// live (same process, status.json's settings say the new value) or by a
// restart under the same supervisor (a new process, sockets kept); an
// invalid folder is exit 2 and changes nothing; a service without a
// supervisor is exit 1 naming it; type and log/run wait for a new supervisor.
import { appendFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cgroupDirs } from '../../../src/os/cgroup.js';
import { limitTarget } from '../../../src/os/limits.js';
import { type Sandbox, type StatusJson, waitFor, withSandbox } from '../../helpers.js';
import { freePort } from '../../sockets.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

/** A longrun ready on its notification-fd, with a check, health checks and a watchdog far off: every setting can change. */
const dbService = () =>
  sb.service('db', `echo ready >&$SVKIT_NOTIFY_FD\nexec ${sb.marker('db')} 1000`, {
    'notification-fd': '5',
    check: '#!/bin/sh\nexit 0\n',
    'health-interval': '60000',
    watchdog: '600000',
    'timeout-kill': '1000',
  });

interface ReloadJson {
  name: string;
  reloaded: boolean;
  live: string[];
  restart: string[];
  restarted: boolean;
  newSupervisor: string[];
  error: string | null;
}

const reload = async (...names: string[]): Promise<{ code: number | null; json: ReloadJson[]; stderr: string }> => {
  const r = await sb.svctl(['reload', '--json', ...names]);
  return { code: r.code, json: r.stdout.trim() ? (JSON.parse(r.stdout) as ReloadJson[]) : [], stderr: r.stderr };
};

type Check = (s: StatusJson) => unknown;

describe('svctl reload: what changes live and what restarts', () => {
  it('a table of file changes, each reloaded in turn: live ones keep the process, the others restart it under the same supervisor', {
    timeout: 120_000,
  }, async () => {
    const port = await freePort();
    const dir = dbService();
    sb.service('other', `exec ${sb.marker('other')} 1000`);
    expect((await sb.svctl(['up', 'db'])).code).toBe(0);
    const supervisor = sb.status('db')!.supervisor!.pid;
    const settings = (s: StatusJson) => s.settings as unknown as Record<string, unknown>;
    const table: [string, () => void, 'live' | 'restart', Check][] = [
      ['down-signal', () => sb.write(dir, 'down-signal', 'HUP'), 'live', (s) => settings(s).downSignal === 'SIGHUP'],
      ['timeout-kill', () => sb.write(dir, 'timeout-kill', '2000'), 'live', (s) => settings(s).timeoutKillMs === 2000],
      ['timeout-ready', () => sb.write(dir, 'timeout-ready', '9000'), 'live', (s) => settings(s).timeoutReadyMs === 9000],
      ['timeout-finish', () => sb.write(dir, 'timeout-finish', '4000'), 'live', (s) => settings(s).timeoutFinishMs === 4000],
      ['restart', () => sb.write(dir, 'restart', 'on-failure'), 'live', (s) => settings(s).restart === 'on-failure'],
      ['requires', () => sb.write(dir, 'requires', 'other'), 'live', (s) => JSON.stringify(settings(s).requires) === '["other"]'],
      ['memory-max', () => sb.write(dir, 'memory-max', '64M'), 'live', (s) => s.limits?.memoryMax === 64 * 1024 ** 2],
      ['pids-max', () => sb.write(dir, 'pids-max', '100'), 'live', (s) => s.limits?.pidsMax === 100],
      ['health-interval', () => sb.write(dir, 'health-interval', '50000'), 'live', (s) => settings(s).healthIntervalMs === 50000],
      ['health-retries', () => sb.write(dir, 'health-retries', '5'), 'live', (s) => settings(s).healthRetries === 5],
      ['health-timeout', () => sb.write(dir, 'health-timeout', '4000'), 'live', (s) => settings(s).healthTimeoutMs === 4000],
      ['watchdog', () => sb.write(dir, 'watchdog', '500000'), 'live', (s) => settings(s).watchdogMs === 500000],
      [
        'log/config',
        () => sb.write(dir, 'log/config', 'size 8192'),
        'live',
        (s) => (settings(s).logRotation as { maxBytes: number }).maxBytes === 8192,
      ],
      ['run', () => appendFileSync(join(dir, 'run'), '# changed\n'), 'restart', () => true],
      ['finish', () => sb.write(dir, 'finish', '#!/bin/sh\nexit 0\n'), 'restart', () => true],
      [
        'check',
        () => sb.write(dir, 'check', '#!/bin/sh\n# changed\nexit 0\n'),
        'restart',
        (s) => settings(s).readiness === 'notification-fd+check',
      ],
      [
        'env',
        () => sb.write(dir, 'env/GREETING', 'hello'),
        'restart',
        (s) => readFileSync(`/proc/${s.pid}/environ`, 'latin1').split('\0').includes('GREETING=hello'),
      ],
      ['nofile', () => sb.write(dir, 'nofile', '4096'), 'restart', (s) => s.limits?.nofile === 4096],
      ['notification-fd', () => sb.write(dir, 'notification-fd', '6'), 'restart', (s) => settings(s).notificationFd === 6],
      [
        'listen',
        () => sb.write(dir, 'listen', `127.0.0.1:${port}`),
        'restart',
        (s) => JSON.stringify(settings(s).listen) === `["127.0.0.1:${port}"]`,
      ],
    ];
    for (const [file, change, how, check] of table) {
      const before = sb.status('db')!;
      change();
      const r = await reload('db');
      const where = `${file}: ${JSON.stringify(r)}`;
      expect(r.code, where).toBe(0);
      expect(r.json, where).toEqual([
        {
          name: 'db',
          reloaded: true,
          live: how === 'live' ? [file] : [],
          restart: how === 'restart' ? [file] : [],
          restarted: how === 'restart',
          newSupervisor: [],
          readyMs: how === 'restart' ? expect.any(Number) : null,
          error: null,
        },
      ]);
      const after = sb.status('db')!;
      expect(after.supervisor!.pid, where).toBe(supervisor);
      expect(after.state, where).toBe('up');
      if (how === 'live') expect(after.pid, where).toBe(before.pid);
      else expect(after.pid, where).not.toBe(before.pid);
      expect(check(after), `${where}: ${JSON.stringify(after)}`).toBeTruthy();
    }
    // a reload with nothing changed changes nothing
    const still = sb.status('db')!.pid;
    expect((await reload('db')).json[0]).toMatchObject({ reloaded: true, live: [], restart: [], restarted: false });
    expect(sb.status('db')!.pid).toBe(still);
    expect((await sb.svctl(['down', 'db'])).code).toBe(0);
  });

  it.runIf(limitTarget(cgroupDirs('probe', '/nonexistent'), 'memory') !== null)('memory-max lands in the live cgroup', async () => {
    const dir = sb.service('db', `exec ${sb.marker('db')} 1000`, { 'memory-max': '64M' });
    expect((await sb.svctl(['up', 'db'])).code).toBe(0);
    const t = limitTarget(cgroupDirs('db', dir), 'memory')!;
    const file = join(t.dir, t.version === 1 ? 'memory.limit_in_bytes' : 'memory.max');
    expect(readFileSync(file, 'utf8').trim()).toBe(String(64 * 1024 ** 2));
    sb.write(dir, 'memory-max', '48M');
    expect((await reload('db')).json[0]).toMatchObject({ live: ['memory-max'], restarted: false });
    expect(readFileSync(file, 'utf8').trim()).toBe(String(48 * 1024 ** 2));
    expect((await sb.svctl(['down', 'db'])).code).toBe(0);
  });

  it('a plain terminal-less run prints one line per service saying what held', async () => {
    const dir = dbService();
    expect((await sb.svctl(['up', 'db'])).code).toBe(0);
    sb.write(dir, 'timeout-kill', '1500');
    sb.write(dir, 'timeout-finish', '2500');
    const r = await sb.svctl(['reload', 'db']);
    expect(r).toMatchObject({ code: 0, stderr: '', stdout: 'db: reloaded: timeout-kill, timeout-finish applied\n' });
    expect((await sb.svctl(['down', 'db'])).code).toBe(0);
  });
});

describe('svctl reload: refused', () => {
  it('an invalid folder: exit 2, one line naming the file, nothing changed', async () => {
    const dir = dbService();
    expect((await sb.svctl(['up', 'db'])).code).toBe(0);
    const before = sb.status('db')!;
    sb.write(dir, 'timeout-kill', 'abc');
    const r = await sb.svctl(['reload', 'db']);
    expect(r).toMatchObject({ code: 2, stdout: '', stderr: 'svctl: db/timeout-kill: expected milliseconds, got "abc"\n' });
    const after = sb.status('db')!;
    expect([after.pid, after.reload, (after.settings as { timeoutKillMs: number }).timeoutKillMs]).toEqual([before.pid, null, 1000]);
    sb.write(dir, 'timeout-kill', '1000');
    expect((await sb.svctl(['down', 'db'])).code).toBe(0);
  });

  it('a service with no supervisor: exit 1 naming it; the others are reloaded', async () => {
    dbService();
    sb.service('other', `exec ${sb.marker('other')} 1000`);
    expect((await sb.svctl(['up', 'db'])).code).toBe(0);
    const r = await sb.svctl(['reload', 'db', 'other']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('svctl: other: no supervisor; nothing to reload (svctl up other starts it as its folder says)\n');
    expect(sb.status('db')!.reload).toMatchObject({ ok: true, live: [], restart: [] });
    expect((await sb.svctl(['reload', 'nosuch'])).code).toBe(2);
    expect((await sb.svctl(['reload'])).code).toBe(2);
    expect((await sb.svctl(['down', 'db'])).code).toBe(0);
  });

  it('log/run added: not applied by reload (it needs a new supervisor); svctl restart of a service with sockets starts one', async () => {
    const port = await freePort();
    const dir = sb.service('web', `exec ${sb.marker('web')} 1000`, { listen: `127.0.0.1:${port}`, 'timeout-kill': '500' });
    expect((await sb.svctl(['up', 'web'])).code).toBe(0);
    const s0 = sb.status('web')!;
    sb.write(dir, 'log/run', `#!/bin/sh\nexec cat > ${sb.path('logged')}\n`);
    const r = await reload('web');
    expect(r.code).toBe(0);
    expect(r.json[0]).toMatchObject({ reloaded: true, live: [], restart: [], newSupervisor: ['log/run'], restarted: false });
    expect(sb.status('web')!.pid).toBe(s0.pid);
    const plain = await sb.svctl(['reload', 'web']);
    expect(plain.stdout).toBe('web: reloaded: log/run not applied: needs a new supervisor (svctl restart)\n');
    expect((await sb.svctl(['restart', 'web'])).code).toBe(0);
    const s1 = await sb.waitStatus('web', (s) => s.state === 'up' && s.log !== null, 'up under a new supervisor with its logger');
    expect(s1.supervisor!.pid).not.toBe(s0.supervisor!.pid);
    expect((await sb.svctl(['down', 'web'])).code).toBe(0);
    rmSync(join(dir, 'log'), { recursive: true, force: true });
  });
});

describe('TEMPLATE@* with no instance', () => {
  it('down, restart and reload: nothing to do, exit 0; never "every service"', async () => {
    sb.service('worker@', `exec ${sb.marker('worker')} 1000`);
    sb.service('other', `exec ${sb.marker('other')} 1000`, { 'timeout-kill': '500' });
    expect((await sb.svctl(['up', 'other'])).code).toBe(0);
    const pid = sb.status('other')!.pid;
    for (const cmd of ['down', 'restart', 'reload'])
      expect(await sb.svctl([cmd, 'worker@*']), cmd).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(sb.status('other')).toMatchObject({ state: 'up', pid });
    expect((await sb.svctl(['down', 'nope@*'])).code).toBe(2);
    expect((await sb.svctl(['down', 'other'])).code).toBe(0);
  });
});

describe('svctl reload: TEMPLATE@*', () => {
  it('every instance of the pool, each reporting; none: nothing to do, exit 0', async () => {
    const dir = sb.service('worker@', `exec ${sb.marker('worker')} 1000`, { 'timeout-kill': '500' });
    expect(await reload('worker@*')).toMatchObject({ code: 0, json: [] });
    expect((await sb.svctl(['up', 'worker@1', 'worker@2'])).code).toBe(0);
    sb.write(dir, 'timeout-kill', '700');
    const r = await reload('worker@*');
    expect(r.code).toBe(0);
    expect(r.json.map((j) => [j.name, j.live])).toEqual([
      ['worker@1', ['timeout-kill']],
      ['worker@2', ['timeout-kill']],
    ]);
    expect((await sb.svctl(['reload', 'nope@*'])).code).toBe(2);
    expect((await sb.svctl(['down', 'worker@*'])).code).toBe(0);
    await waitFor(() => !sb.status('worker@1')?.supervisor || sb.status('worker@1')!.state === 'down', 'worker@1 down');
  });
});
