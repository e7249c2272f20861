// Logging that never loses a line: the built-in logger (rotation, partial
// and long lines, unsafe bytes, back-pressure, a full disk) and log/
// subservices on the pipe svrun holds (logger killed mid-stream, service
// restarted: no gap, no duplicate).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { control, exitOf, isAlive, procStat, type Sandbox, waitFor, withSandbox } from '../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

/**
 * A counter that survives restarts: prints `n K` lines, K continuing from the
 * last run. It stops on SIGTERM between two lines (bash runs the trap after the
 * current builtin), so the fixture itself never skips or repeats a number: a
 * gap or a duplicate in the log is the logging's fault.
 */
const COUNTER = (pause: string) => `k=$(cat count 2>/dev/null || echo 0); stop=; trap 'stop=1' TERM
while :; do k=$((k+1)); echo "n $k"; echo $k > count; [ -n "$stop" ] && exit 0; sleep ${pause}; [ -n "$stop" ] && exit 0; done`;

/** The numbers of the `n K` lines in `text`, in order. */
const numbers = (text: string): number[] => [...text.matchAll(/(?:^| )n (\d+)$/gm)].map((m) => Number(m[1]));

/** Asserts `ns` is exactly first, first+1, ..., last: no gap, no duplicate. */
const expectContiguous = (ns: number[]) => {
  expect(ns.length).toBeGreaterThan(0);
  const first = ns[0]!;
  const bad = ns.findIndex((n, i) => n !== first + i);
  expect(bad === -1 ? null : ns.slice(Math.max(0, bad - 2), bad + 2)).toBeNull();
};

const logFiles = (dir: string) =>
  readdirSync(join(dir, 'log'))
    .filter((f) => f.startsWith('@'))
    .sort();
const allLogs = (dir: string) => [...logFiles(dir), 'current'].map((f) => readFileSync(join(dir, 'log', f), 'utf8')).join('');

describe('built-in logger', () => {
  it('rotates by size, keeps exactly N files, and loses no line across rotations and restarts', async () => {
    const dir = sb.service('c', COUNTER('0.001'), { 'log/config': 'size 4096\nkeep 3\n' });
    sb.svrun([dir]);
    await waitFor(() => logFiles(dir).length === 3, 'three rotated files', 10_000);
    const first = await sb.waitStatus('c', (s) => s.state === 'up', 'up');
    process.kill(first.pid!, 'SIGTERM'); // a restart in the middle of the stream
    await sb.waitStatus('c', (s) => s.restarts === 1 && s.state === 'up', 'restarted');
    const seen = logFiles(dir);
    await waitFor(() => !logFiles(dir).includes(seen[0]!), 'more rotations', 10_000);
    expect(logFiles(dir)).toHaveLength(3);
    for (const f of logFiles(dir)) {
      expect(f).toMatch(/^@\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\.s$/);
      const size = readFileSync(join(dir, 'log', f)).length;
      expect(size).toBeLessThanOrEqual(4096);
      expect(size).toBeGreaterThan(3000);
    }
    const text = allLogs(dir);
    for (const line of text.split('\n').filter(Boolean)) expect(line).toMatch(/^\S+Z (out|err|svrun) /);
    expect(text).toContain('svrun exited 0\n');
    expectContiguous(numbers(text));
  });

  it('keeps a final line without newline, marked partial', async () => {
    const dir = sb.service('p', "printf 'no newline at the end'", { restart: 'never' });
    sb.svrun([dir]);
    await sb.waitLog('p', / out no newline at the end \[partial\]\n/);
  });

  it('writes an incomplete line after a short idle time, marked partial', async () => {
    const dir = sb.service('p', "printf 'Password: '; exec sleep 1000");
    sb.svrun([dir]);
    await sb.waitLog('p', / out Password: {2}\[partial\]\n/, 5000);
  });

  it('splits a very long line instead of holding it; writes invalid UTF-8 and control bytes safely', async () => {
    const dir = sb.service(
      'b',
      "head -c 100000 /dev/zero | tr '\\0' x; echo; printf 'bad \\xff\\xfe bytes\\x00\\x07 tab\\tend\\r\\n'; exec sleep 1000",
    );
    sb.svrun([dir]);
    const log = await sb.waitLog('b', / out bad .* tab\tend\n/);
    const lines = log.split('\n').filter((l) => / out x/.test(l));
    expect(lines.map((l) => l.replace(/^\S+ out /, '').replace(/ \[partial\]$/, '').length)).toEqual([65536, 100000 - 65536]);
    expect(lines[0]).toMatch(/ \[partial\]$/);
    expect(log).toContain('out bad \uFFFD\uFFFD bytes\\x00\\x07 tab\tend\n');
  });

  it('back-pressure: a service flooding its output is still stopped promptly', async () => {
    const dir = sb.service('flood', 'exec yes "a line of output that floods the log"', { 'timeout-kill': '3000' });
    const sv = sb.svrun([dir]);
    await sb.waitStatus('flood', (s) => s.state === 'up', 'up');
    await waitFor(() => logFiles(dir).length >= 2, 'rotations under the flood', 10_000);
    sv.kill('SIGTERM');
    expect(await exitOf(sv)).toBe(0);
    // ended by the down-signal, never by the SIGKILL of timeout-kill: svrun kept reacting (how fast: bench)
    expect(sb.status('flood')).toMatchObject({ state: 'down', lastExit: { signal: 'SIGTERM' } });
    // the pipes still hold up to ~120 KiB of flood after the stopping line: it may have been rotated out of current
    const logged = [...logFiles(dir), 'current'].map((f) => readFileSync(join(dir, 'log', f), 'latin1')).join('');
    expect(logged).toMatch(/svrun stopping: SIGTERM\n/);
    expect(logged).not.toMatch(/svrun killed after/);
    expect(logFiles(dir).length).toBeLessThanOrEqual(10);
  });

  const canMount = process.getuid?.() === 0 && spawnSync('mount', ['--version']).status === 0;
  it.runIf(canMount)('a full disk is recorded in lastError and retried; the service keeps running (needs root and mount)', async (ctx) => {
    const dir = sb.service('full', COUNTER('0.005'));
    mkdirSync(join(dir, 'log'));
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', join(dir, 'log')]).status !== 0)
      ctx.skip('cannot mount a tmpfs here');
    try {
      const sv = sb.svrun([dir]);
      const st = await sb.waitStatus('full', (s) => /ENOSPC/.test(s.lastError ?? ''), 'lastError ENOSPC', 15_000);
      // the service is not held up by the full disk: it keeps counting
      const count = () => Number(readFileSync(join(dir, 'count'), 'utf8'));
      const at = count();
      await waitFor(() => count() > at + 50, 'the service to keep running on a full disk');
      expect(isAlive(st.pid)).toBe(true);
      expect(isAlive(sv.pid)).toBe(true);
      expect(sb.status('full')!.restarts).toBe(0);
    } finally {
      spawnSync('umount', ['-l', join(dir, 'log')]); // lazily: processes still holding it are killed by cleanup
    }
  });
});

describe('log/ subservice', () => {
  it('starts before the service; a logger SIGKILLed and a service restarted lose and repeat no line', async () => {
    const dir = sb.service('c', COUNTER('0.002'), { 'log/run': '#!/bin/sh\nexec cat >> out.txt\n' });
    const out = join(dir, 'log', 'out.txt');
    const sv = sb.svrun([dir]);
    const st = await sb.waitStatus('c', (s) => s.state === 'up' && s.log?.state === 'up', 'both up');
    const text = () => (existsSync(out) ? readFileSync(out, 'utf8') : '');
    await waitFor(() => text().includes('svrun: started pid'), 'the service start logged');
    expect(text().indexOf('svrun: log: started pid')).toBeLessThan(text().indexOf('svrun: started pid'));
    const log = st.log!;
    await waitFor(() => numbers(text()).length > 20, 'lines through the logger');
    // What a logger has read but not yet written dies with it (any logger, any supervisor).
    // What the held pipe promises is the rest: so the logger is killed while it holds nothing
    // (blocked reading, the service paused), and the service writes on while it is down.
    control(dir, 'p');
    await waitFor(() => procStat(st.pid!)?.state === 'T', 'the service paused');
    await waitFor(() => /pipe_read$/.test(readFileSync(`/proc/${log.pid}/wchan`, 'utf8')), 'the logger idle, blocked reading');
    process.kill(log.pid!, 'SIGKILL');
    control(dir, 'c');
    const again = await sb.waitStatus('c', (s) => s.log?.restarts === 1 && s.log?.state === 'up', 'logger restarted');
    process.kill(again.pid!, 'SIGTERM');
    await sb.waitStatus('c', (s) => s.restarts === 1 && s.state === 'up', 'service restarted');
    const before = numbers(text()).length;
    await waitFor(() => numbers(text()).length > before + 20, 'more lines');
    sv.kill('SIGTERM');
    expect(await exitOf(sv)).toBe(0);
    const all = text();
    expectContiguous(numbers(all));
    expect(Number(readFileSync(join(dir, 'count'), 'utf8'))).toBe(numbers(all).at(-1)); // the last line made it
    expect(all).toMatch(/svrun: log: killed by SIGKILL\n/);
    expect(all).toMatch(/svrun: down\n$/);
    expect(existsSync(join(dir, 'log', 'supervise', 'status.json'))).toBe(true);
    expect(sb.status('c')!.log).toMatchObject({ state: 'down', pid: null });
    expect(existsSync(join(dir, 'log', 'current'))).toBe(false); // the built-in logger is off
  });

  it('the service never gets SIGPIPE while its logger is down: it waits on the full pipe, then goes on', async () => {
    const pad = 'x'.repeat(1000);
    const dir = sb.service('c', `k=0; while :; do k=$((k+1)); echo "${pad} n $k"; echo $k > count; done`, {
      'log/run': '#!/bin/sh\n[ -e ../hold ] && exec sleep 1000\nexec cat >> out.txt\n',
    });
    const out = join(dir, 'log', 'out.txt');
    sb.write(dir, 'hold', '');
    sb.svrun([dir]);
    const st = await sb.waitStatus('c', (s) => s.state === 'up' && s.log?.state === 'up', 'both up');
    // nobody reads: the pipe fills and the service blocks in write(), alive
    await waitFor(() => /pipe_write$/.test(readFileSync(`/proc/${st.pid}/wchan`, 'utf8')), 'the service to block on the full pipe');
    const blockedAt = Number(readFileSync(join(dir, 'count'), 'utf8'));
    expect(blockedAt).toBeGreaterThan(10);
    spawnSync('rm', [join(dir, 'hold')]);
    process.kill(st.log!.pid!, 'SIGKILL'); // the next logger reads
    await waitFor(
      () => numbers(existsSync(out) ? readFileSync(out, 'utf8') : '').length > blockedAt + 100,
      'lines after the logger came back',
    );
    expect(sb.status('c')).toMatchObject({ restarts: 0, pid: st.pid });
    const ns = numbers(readFileSync(out, 'utf8'));
    expect(ns[0]).toBe(1);
    expectContiguous(ns.slice(0, -1)); // the very last line may be half written yet
  });
});
