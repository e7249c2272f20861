// The scan directory's lock: concurrent svctl calls never interleave, a
// waiter names the holder, a killed holder's lock is taken over at once,
// and a down that races an up ends with everything down.
import { chmodSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtCopy, pidsByArgv0, type Sandbox, startSvctl, svrunPids, waitFor, withSandbox } from '../../helpers.js';

/** Deadline for events that involve starting node processes on a busy machine. */
const SLOW = 10_000;

let sb!: Sandbox;
withSandbox((s) => (sb = s));

/** Ready (fd 3) once the file `gate` exists, or after `delay` seconds. */
const service = (name: string, opts: { gate?: string; delay?: string; requires?: string } = {}) =>
  sb.service(
    name,
    [
      opts.gate ? `while [ ! -e ${sb.path(opts.gate)} ]; do sleep 0.02; done` : '',
      opts.delay ? `sleep ${opts.delay}` : '',
      'echo >&3',
      `exec ${sb.marker(name)} 1000`,
    ].join('\n'),
    { 'notification-fd': '3', 'timeout-kill': '1000', ...(opts.requires ? { requires: opts.requires } : {}) },
  );

const oneRunEach = (names: string[]) => {
  for (const n of names) {
    expect(svrunPids(join(sb.scan, n)), `${n}: supervisors`).toHaveLength(1);
    expect(pidsByArgv0(sb.marker(n)), `${n}: service processes`).toHaveLength(1);
  }
};

describe('scan lock', () => {
  it('two concurrent up calls end with exactly one svrun per service', async () => {
    service('a', { delay: '0.2' });
    service('b', { requires: 'a' });
    service('c', { delay: '0.1' });
    const [r1, r2] = await Promise.all([startSvctl(sb, ['up']).done, startSvctl(sb, ['up']).done]);
    expect(r1).toMatchObject({ code: 0, stderr: '' });
    expect(r2).toMatchObject({ code: 0, stderr: '' });
    oneRunEach(['a', 'b', 'c']);
  });

  it('a waiter gives up after -t naming the holder; status and check take no lock', async () => {
    service('a', { gate: 'go' });
    const first = startSvctl(sb, ['up']);
    await sb.waitStatus('a', (s) => s.state === 'starting', 'a starting', SLOW);
    const t0 = Date.now();
    const second = await sb.svctl(['up', '-t', '300']);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(
      new RegExp(`^svctl: .*: locked by svctl pid ${first.child.pid} \\(svctl up\\); gave up after \\d+ ms\\n$`),
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect((await sb.svctl(['status'])).code).toBe(0);
    expect((await sb.svctl(['check'])).code).toBe(1);
    writeFileSync(sb.path('go'), '');
    expect(await first.done).toMatchObject({ code: 0, stderr: '' });
    expect(existsSync(join(sb.scan, '.svctl.lock'))).toBe(false);
  });

  it('down of everything while an up runs ends with everything down', async () => {
    service('a', { gate: 'go' });
    service('b', { requires: 'a' });
    service('c');
    const up = startSvctl(sb, ['up']);
    await sb.waitStatus('a', (s) => s.state === 'starting', 'a starting', SLOW);
    const down = startSvctl(sb, ['down']);
    // the down waits for the lock: let the up finish
    writeFileSync(sb.path('go'), '');
    const [ru, rd] = await Promise.all([up.done, down.done]);
    expect(ru.code).toBe(0);
    expect(rd).toMatchObject({ code: 0, stderr: '' });
    for (const n of ['a', 'b', 'c']) {
      expect(sb.status(n)!.state).toBe('down');
      expect(svrunPids(join(sb.scan, n))).toEqual([]);
      expect(pidsByArgv0(sb.marker(n))).toEqual([]);
    }
  });

  it('after a SIGKILL of svctl mid-up, a new up takes the lock over at once and completes', async () => {
    service('a', { gate: 'go' });
    service('b', { requires: 'a' });
    const first = startSvctl(sb, ['up']);
    await sb.waitStatus('a', (s) => s.state === 'starting', 'a starting', SLOW);
    first.child.kill('SIGKILL');
    await first.done;
    expect(existsSync(join(sb.scan, '.svctl.lock'))).toBe(true);
    writeFileSync(sb.path('go'), '');
    const t0 = Date.now();
    const again = await sb.svctl(['up']);
    expect(again).toMatchObject({ code: 0, stderr: '' });
    // not proper-lockfile's staleness: its lock is refreshed every 5 s and stale after 10 s, so a
    // takeover by staleness comes 5 s after the kill at the earliest
    expect(Date.now() - t0).toBeLessThan(5000);
    oneRunEach(['a', 'b']);
    await waitFor(() => !existsSync(join(sb.scan, '.svctl.lock')), 'lock released', SLOW);
  });
});

describe('a stop signal while the lock is held', () => {
  it('svctl up drops the lock and exits 128+N (an exit code, not death by the signal), saying only what it left', async () => {
    service('a', { gate: 'go' });
    const up = startSvctl(sb, ['up']);
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
      up.child.once('exit', (code, signal) => res({ code, signal })),
    );
    await sb.waitStatus('a', (s) => s.state === 'starting', 'a starting', SLOW);
    const lock = join(sb.scan, '.svctl.lock');
    expect(existsSync(lock)).toBe(true);
    expect(existsSync(`${lock}.owner`)).toBe(true);
    up.child.kill('SIGINT');
    expect(await ended).toEqual({ code: 130, signal: null });
    expect((await up.done).stderr).toBe('svctl: interrupted: a starting (left running; svctl down to stop)\n');
    expect(existsSync(lock)).toBe(false);
    expect(existsSync(`${lock}.owner`)).toBe(false);
    writeFileSync(sb.path('go'), '');
  });
});

describe('without write access to the scan directory', () => {
  it('down and up name the lock and the rights they need, exit 1, nothing changed (run as nobody)', async () => {
    service('web');
    // root-owned and not writable by others; the folders on the way must be searchable by nobody
    for (const d of [sb.dir, sb.scan]) chmodSync(d, 0o755);
    // svctl as built, copied where nobody can read it (the checkout may be in /root); the tmp folder's parents are searchable
    const { svctl } = builtCopy(sb);
    const before = readdirSync(sb.scan).sort();
    const asNobody = (args: string[]) =>
      sb.exec('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, svctl, ...args]);
    for (const cmd of ['down', 'up']) {
      const r = await asNobody([cmd]);
      expect(r.stderr, cmd).toBe(
        `svctl: ${sb.scan}: cannot take the scan directory's lock (.svctl.lock): permission denied; changing services needs write access to the scan directory (or $SVKIT_STATE_DIR)\n`,
      );
      expect(r.code, cmd).toBe(1);
    }
    expect(readdirSync(sb.scan).sort()).toEqual(before);
    expect(sb.status('web')).toBeNull();
    // signal takes no lock: it needs to write to the supervisor's FIFO (0600, root's)
    expect((await sb.svctl(['up'])).code).toBe(0);
    chmodSync(join(sb.scan, 'web', 'supervise'), 0o755);
    const r = await asNobody(['signal', 'HUP', 'web']);
    expect(r.stderr).toBe(
      `svctl: web: cannot write to its supervisor's control FIFO (${join(sb.scan, 'web', 'supervise', 'control')}): permission denied; signalling needs write access to it (the supervisor's user)\n`,
    );
    expect(r.code).toBe(1);
  });
});
