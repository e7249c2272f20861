// Waiting for the scan lock by the holder's progress: without -t, a waiter
// waits as long as the holder lives and beats (its owner record touched
// every second), however long that is, and says on a terminal whom it
// waits for; a holder that stops beating (SIGSTOP) is given up on, naming it.
import { existsSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCAN_LOCK_STALL_MS } from '../../../src/defaults.js';
import { findExecutable } from '../../../src/os/procgroup.js';
import { type Sandbox, startSvctl, SVCTL, waitFor, withSandbox } from '../../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const script = findExecutable('script');

/** Ready (fd 3) `delay` seconds after it starts; its stop timeouts short, so a bound computed from them is short too. */
const slow = (name: string, delay: string) =>
  sb.service(name, `sleep ${delay}\necho >&3\nexec ${sb.marker(name)} 1000`, {
    'notification-fd': '3',
    'timeout-ready': '1000',
    'timeout-kill': '100',
    'timeout-finish': '100',
  });

describe('waiting for the scan lock', { timeout: 60_000 }, () => {
  it.runIf(script)(
    'without -t: waits past any bound computed from timeouts while the holder works, and says on a terminal whom it waits for (needs script(1))',
    async () => {
      slow('a', '4');
      // the holder's -t lets it wait for a longer than a's timeout-ready: about 4 s of legitimate work
      const holder = startSvctl(sb, ['-t', '20000', 'up', 'a']);
      await sb.waitStatus('a', (s) => s.state === 'starting', 'a starting', 10_000);
      // a terminal for the waiter: script(1) gives it one and copies what it prints; a is up by the time it has the lock
      const t0 = Date.now();
      const r = await sb.exec(script!, ['-qefc', `${process.execPath} ${SVCTL} up a`, '/dev/null'], 40_000);
      const waited = Date.now() - t0;
      expect(await holder.done).toMatchObject({ code: 0, stderr: '' });
      expect(r.stdout).toContain(`svctl: waiting for the scan lock, held by svctl pid ${holder.child.pid} (svctl -t 20000 up a)`);
      expect(r.stdout).not.toContain('gave up');
      expect(r.code).toBe(0);
      expect(sb.status('a')!.state).toBe('up');
      // a's timeout-ready (1 s) and stop timeouts (1.2 s) were the old bound: the wait outlasted it
      expect(waited).toBeGreaterThan(1200);
      expect((await sb.svctl(['down'])).code).toBe(0);
    },
  );

  it('without -t: a holder that has stopped beating (SIGSTOP) is given up on after a while, named; SIGCONT and it finishes', async () => {
    slow('a', '1');
    slow('b', '0');
    const holder = startSvctl(sb, ['-t', '20000', 'up', 'a']);
    await sb.waitStatus('a', (s) => s.state === 'starting', 'a starting', 10_000);
    holder.child.kill('SIGSTOP');
    try {
      const owner = join(sb.scan, '.svctl.lock.owner');
      await waitFor(() => existsSync(owner), 'the owner record');
      // the holder's last beat, made as old as the stall bound: no need to wait it out
      const past = new Date(Date.now() - SCAN_LOCK_STALL_MS - 1000);
      utimesSync(owner, past, past);
      const r = await sb.svctl(['up', 'b'], 30_000);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `^svctl: .*: locked by svctl pid ${holder.child.pid} \\(svctl -t 20000 up a\\), which has not moved for \\d+ s \\(stopped\\?\\); gave up after \\d+ ms\\n$`,
        ),
      );
      expect(r.stdout).toBe(''); // not a terminal: nothing said while waiting
    } finally {
      holder.child.kill('SIGCONT');
    }
    expect((await holder.done).code).toBe(0);
    expect((await sb.svctl(['down'])).code).toBe(0);
  });
});
