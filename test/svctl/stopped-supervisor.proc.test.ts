// Issue 22, item 8: a command that timed out must not win over a later one.
// A supervisor stopped with SIGSTOP reads nothing from its control FIFO, and
// the FIFO keeps what is written until it runs again: so svctl tells a
// stopped supervisor nothing (one line saying so), and takes back a letter
// still unread when it gives up or is interrupted.
import { spawn } from 'node:child_process';
import { closeSync, constants, mkdirSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureFifo } from '../../src/os/fifo.js';
import { isAlive, pidsByArgv0, procStat, type Sandbox, startSvctl, waitFor, withSandbox } from '../helpers.js';
import { blankStatus } from '../../src/supervise/status.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

/** A service that logs `hup` on SIGHUP and runs on: a round trip through the FIFO, seen in the log. */
const HUP_LOGGER = `exec ${process.execPath} -e "process.on('SIGHUP', () => console.log('hup')); setInterval(() => {}, 1e6)"`;

/** What waits unread in a FIFO (read without blocking: empty is ''). */
const unread = (fifo: string): string => {
  const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const buf = Buffer.alloc(4096);
    return buf.subarray(0, readSync(fd, buf, 0, buf.length, null)).toString('latin1');
  } catch {
    return '';
  } finally {
    closeSync(fd);
  }
};

describe('a stopped supervisor', () => {
  it('up, SIGSTOP, down, up, SIGCONT: the down that failed is not replayed; the service stays up', async () => {
    const dir = sb.service('web', HUP_LOGGER);
    expect(await sb.svctl(['up', 'web'])).toMatchObject({ code: 0, stderr: '' });
    const st = await sb.waitStatus('web', (s) => s.state === 'up', 'up');
    const svrun = st.supervisor!.pid;
    process.kill(svrun, 'SIGSTOP');
    try {
      await waitFor(() => procStat(svrun)?.state === 'T', 'the supervisor stopped');
      const down = await sb.svctl(['down', '-t', '3000', 'web']);
      expect(down).toMatchObject({
        code: 1,
        stderr: `svctl: web: its supervisor (pid ${svrun}) is stopped (SIGSTOP or Ctrl-Z): not asked to stop; continue it (kill -CONT ${svrun}) and try again\n`,
      });
      expect(await sb.svctl(['up', 'web'])).toMatchObject({ code: 0, stderr: '' });
      expect(unread(join(dir, 'supervise', 'control'))).toBe(''); // nothing queued for later
    } finally {
      process.kill(svrun, 'SIGCONT');
    }
    // a round trip through the FIFO: once the HUP is relayed, every letter written before it was read
    expect(await sb.svctl(['signal', 'HUP', 'web'])).toMatchObject({ code: 0, stderr: '' });
    await sb.waitLog('web', /out hup$/m);
    expect(sb.status('web')).toMatchObject({ state: 'up', want: 'up', pid: st.pid, supervisor: { pid: svrun } });
    expect(isAlive(svrun)).toBe(true);
  });

  it('svctl signal to a stopped supervisor: one line, nothing queued', async () => {
    const dir = sb.service('web', HUP_LOGGER);
    sb.svrun([dir]);
    const st = await sb.waitStatus('web', (s) => s.state === 'up', 'up');
    const svrun = st.supervisor!.pid;
    process.kill(svrun, 'SIGSTOP');
    try {
      await waitFor(() => procStat(svrun)?.state === 'T', 'the supervisor stopped');
      expect(await sb.svctl(['signal', 'HUP', 'web'])).toMatchObject({
        code: 1,
        stderr: `svctl: web: its supervisor (pid ${svrun}) is stopped (SIGSTOP or Ctrl-Z): nothing sent; continue it (kill -CONT ${svrun}) and try again\n`,
      });
      expect(unread(join(dir, 'supervise', 'control'))).toBe('');
    } finally {
      process.kill(svrun, 'SIGCONT');
    }
  });
});

describe('a letter never read is taken back', () => {
  /**
   * A supervisor that reads nothing: status.json names a live process (a
   * sleep of the test's), and the test holds the control FIFO open, so a
   * letter is written and stays unread.
   */
  const deafSupervisor = async () => {
    const m = sb.marker('deaf');
    const child = spawn(m, ['1000'], { detached: true, stdio: 'ignore', env: sb.env });
    const pid = await waitFor(() => pidsByArgv0(m).find((x) => x === child.pid), 'the deaf supervisor');
    const dir = sb.service('web', 'exec sleep 1000');
    const sup = join(dir, 'supervise');
    mkdirSync(sup);
    const fifo = join(sup, 'control');
    ensureFifo(fifo);
    const held = openSync(fifo, constants.O_RDWR);
    const status = {
      ...blankStatus('web', 'longrun'),
      supervisor: { pid, pidStart: procStat(pid)!.start, startedAt: new Date().toISOString() },
      want: 'up',
      state: 'up',
      since: new Date().toISOString(),
    };
    writeFileSync(join(sup, 'status.json'), JSON.stringify(status));
    return { pid, fifo, close: () => closeSync(held) };
  };

  it('svctl down that gives up takes its letter back out of the FIFO and says so', async () => {
    const deaf = await deafSupervisor();
    try {
      const r = await sb.svctl(['down', '-t', '300', 'web']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /^svctl: web: still up after \d+ ms \(supervisor pid \d+; it never read the request, which is withdrawn\)\n$/,
      );
      expect(unread(deaf.fifo)).toBe('');
    } finally {
      deaf.close();
    }
  });

  it('svctl down interrupted (SIGINT) while it waits takes its letter back', async () => {
    const deaf = await deafSupervisor();
    try {
      const before = statSync(deaf.fifo).mtimeMs;
      const bg = startSvctl(sb, ['down', 'web']);
      // a write to a FIFO updates its mtime: the letter is in
      await waitFor(() => statSync(deaf.fifo).mtimeMs !== before, 'the letter written');
      bg.child.kill('SIGINT');
      const r = await bg.done;
      expect(r.code).toBe(130);
      expect(unread(deaf.fifo)).toBe('');
    } finally {
      deaf.close();
    }
  });
});
