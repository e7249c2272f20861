// fds 1 and 2 of everything svrun starts are real pipes (or the held FIFO to a
// log/ logger), never sockets: a program can open /dev/stdout and /dev/stderr
// by path (nginx's `access_log /dev/stdout;`), in all three log modes. And
// the pipes cost nothing over time: svrun's descriptor count is the same
// after 20 restarts, and a process's last lines come before its `exited`.
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { control, exitOf, fdCount, type Sandbox, standbyPid, waitFor, withSandbox } from '../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

/** Opens /dev/stdout and /dev/stderr by path (fails with ENXIO on a socket), then stays. */
const byPath = (m: string) => `echo out-by-path > /dev/stdout; echo err-by-path > /dev/stderr; exec ${m} 1000`;

/** What the descriptor `fd` of `pid` is: `pipe:[N]` for a pipe, the path for a FIFO, `socket:[N]` for a socket. */
const fdTarget = (pid: number, fd: number) => readlinkSync(`/proc/${pid}/fd/${fd}`);

describe('stdout and stderr are pipes', () => {
  it('built-in logger: a service writing to /dev/stdout and /dev/stderr is logged; its fds 1 and 2 are pipes, 0 is /dev/null', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', byPath(m));
    sb.svrun([dir]);
    const st = await sb.waitRunning('web', m);
    await sb.waitLog('web', / out out-by-path\n(.*\n)*.* err err-by-path\n|.* err err-by-path\n(.*\n)*.* out out-by-path\n/);
    expect(fdTarget(st.pid!, 1)).toMatch(/^pipe:\[\d+\]$/);
    expect(fdTarget(st.pid!, 2)).toMatch(/^pipe:\[\d+\]$/);
    expect(fdTarget(st.pid!, 1)).not.toBe(fdTarget(st.pid!, 2)); // out and err stay apart
    expect(fdTarget(st.pid!, 0)).toBe('/dev/null');
    expect(sb.log('web')).not.toMatch(/No such device/);
  });

  it("--log stdout: both lines on svrun's own stdout, the service's fds 1 and 2 pipes", async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', byPath(m));
    const sv = sb.svrun(['--log', 'stdout', dir]);
    const st = await sb.waitRunning('web', m);
    await waitFor(
      () => /^web \| out out-by-path$/m.test(sv.output()) && /^web \| err err-by-path$/m.test(sv.output()),
      () => `both lines on stdout: ${sv.output()}`,
    );
    expect(fdTarget(st.pid!, 1)).toMatch(/^pipe:\[\d+\]$/);
    expect(fdTarget(st.pid!, 2)).toMatch(/^pipe:\[\d+\]$/);
    expect(sv.output()).not.toMatch(/No such device/);
  });

  it('log/ logger: run and finish write to /dev/stdout and /dev/stderr into the logger, through the held FIFO', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', byPath(m), {
      finish: '#!/bin/sh\necho finish-out > /dev/stdout; echo finish-err > /dev/stderr\n',
      'log/run': '#!/bin/sh\nexec cat >> out.txt\n',
    });
    const out = join(dir, 'log', 'out.txt');
    const text = () => (existsSync(out) ? readFileSync(out, 'utf8') : '');
    const sv = sb.svrun([dir]);
    const st = await sb.waitRunning('web', m);
    await waitFor(
      () => /^out-by-path$/m.test(text()) && /^err-by-path$/m.test(text()),
      () => `both lines through the logger: ${text()}`,
    );
    expect(statSync(`/proc/${st.pid}/fd/1`).isFIFO()).toBe(true);
    expect(statSync(`/proc/${st.pid}/fd/2`).isFIFO()).toBe(true);
    sv.kill('SIGTERM');
    expect(await exitOf(sv)).toBe(0);
    expect(text()).toMatch(/^finish-out$/m);
    expect(text()).toMatch(/^finish-err$/m);
    expect(text()).not.toMatch(/No such device/);
  });

  it('finish writes to /dev/stdout and /dev/stderr into log/current, before `down`', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `exec ${m} 1000`, {
      finish: '#!/bin/sh\necho "finish $1 $2" > /dev/stdout; echo finish-err > /dev/stderr; readlink /proc/self/fd/1\n',
    });
    const sv = sb.svrun([dir]);
    await sb.waitRunning('web', m);
    sv.kill('SIGTERM');
    expect(await exitOf(sv)).toBe(0);
    const log = sb.log('web');
    expect(log).toMatch(/ out finish -1 15\n/);
    expect(log).toMatch(/ err finish-err\n/);
    expect(log).toMatch(/ out pipe:\[\d+\]\n/);
    expect(log).toMatch(/ svrun down\n$/);
  });

  it("a oneshot's stop writes to /dev/stderr into log/current", async () => {
    const dir = sb.service('mk', 'echo up-by-path > /dev/stdout', {
      type: 'oneshot',
      stop: '#!/bin/sh\necho undone-by-path > /dev/stderr\n',
    });
    expect(await exitOf(sb.svrun([dir]))).toBe(0);
    expect(await exitOf(sb.svrun(['--want', 'down', dir]))).toBe(0);
    expect(sb.status('mk')).toMatchObject({ state: 'down', lastError: null });
    expect(sb.log('mk')).toMatch(/ out up-by-path\n/);
    expect(sb.log('mk')).toMatch(/ err undone-by-path\n/);
  });

  it('check may open /dev/stdout and /dev/stderr (they are /dev/null: its output is discarded)', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `exec ${m} 1000`, {
      check: '#!/bin/sh\necho checking > /dev/stdout && echo checking > /dev/stderr && touch checked\n',
    });
    sb.svrun([dir]);
    await sb.waitRunning('web', m);
    expect(existsSync(join(dir, 'checked'))).toBe(true);
    expect(sb.log('web')).not.toMatch(/checking/);
  });
});

describe('the pipes over time', () => {
  it('svrun holds the same number of descriptors after each of 8 restarts (run and finish each get fresh pipes)', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `echo "run $$"; echo "warm $$" >&2; exec ${m} 1000`, {
      finish: '#!/bin/sh\necho finished\n',
      'timeout-kill': '300',
    });
    const sv = sb.svrun([dir]);
    let st = await sb.waitRunning('web', m);
    // counted with the standby in place (src/supervisor/standby.ts: the next run's pipes are open ahead)
    const fds = () => (standbyPid(sv.pid!) === null ? -1 : readdirSync(`/proc/${sv.pid}/fd`).length);
    await sb.waitLog('web', new RegExp(` err warm ${st.pid}\n`));
    const baseline = await waitFor(() => (fds() > 0 ? fds() : null), 'the standby', 10_000);
    for (let i = 1; i <= 8; i++) {
      const old = st.pid!;
      control(dir, 'k'); // SIGKILL: restarted at once or after a short backoff...
      await sb.waitStatus('web', (s) => s.pid !== null && s.pid !== old && s.state === 'up', `restart ${i}`, 10_000);
      st = await sb.waitRunning('web', m, 10_000);
      await sb.waitLog('web', new RegExp(` err warm ${st.pid}\n`));
      // ...and the previous run's and finish's pipes are closed as soon as they end
      await waitFor(
        () => fds() === baseline,
        () =>
          `svrun's ${baseline} descriptors after restart ${i}, a standby in place (now ${fds()}: ${readdirSync(`/proc/${sv.pid}/fd`)
            .map((f) => {
              try {
                return readlinkSync(`/proc/${sv.pid}/fd/${f}`);
              } catch {
                return '?';
              }
            })
            .join(' ')})`,
      );
      control(dir, 'd');
      await sb.waitStatus('web', (s) => s.state === 'down', `down ${i}`);
      control(dir, 'u'); // an explicit up starts at once: no backoff to wait out
      // up before the next k: a k while it is still starting would find nothing to kill
      st = await sb.waitRunning('web', m, 10_000);
      await sb.waitLog('web', new RegExp(` err warm ${st.pid}\n`));
    }
    await waitFor(
      () => fds() === baseline,
      () => `svrun's ${baseline} descriptors at the end (now ${fds()})`,
    );
    expect(sb.log('web').match(/ out finished\n/g)?.length).toBe(16);
    expect(fdCount(sv.pid!)).toBe(baseline);
  }, 30_000);

  it("a process's last lines, a partial one included, come before its `exited` line", async () => {
    const dir = sb.service('last', "echo 'last words'; printf 'no newline'; exit 3", { restart: 'never' });
    const sv = sb.svrun([dir]);
    await sb.waitStatus('last', (s) => s.state === 'failed', 'failed');
    await sb.waitLog('last', / svrun failed\n/);
    const lines = sb
      .log('last')
      .split('\n')
      .map((l) => l.replace(/^\S+ /, ''));
    const at = (line: string) => lines.indexOf(line);
    expect(at('out last words')).toBeGreaterThan(-1);
    expect(at('out no newline [partial]')).toBeGreaterThan(at('out last words'));
    expect(at('svrun exited 3')).toBeGreaterThan(at('out no newline [partial]'));
    sv.kill('SIGTERM');
    expect(await exitOf(sv)).toBe(0);
  });
});
