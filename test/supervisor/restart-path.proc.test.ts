// What svrun does between a service's exit and its next run being exec'd
// (issue 11, the restart reaction): no more writes than the change needs,
// none of them waiting for the disk. Real svrun, real kills, inotify and
// strace as the witnesses.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { control, exitOf, type Sandbox, SVRUN, waitFor, withSandbox } from '../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

/** strace with a seccomp filter (only the traced calls stop the process), where installed. */
const HAS_STRACE = spawnSync('strace', ['-f', '--seccomp-bpf', '-e', 'trace=fsync', '-o', '/dev/null', 'true']).status === 0;

describe('the restart path', () => {
  it('a restart writes status.json once: from the old run up straight to the new run up, never `starting` on disk', async () => {
    const dir = sb.service('web', 'exec sleep 1000');
    sb.svrun([dir]);
    const first = await sb.waitStatus('web', (s) => s.state === 'up', 'up');
    const names: string[] = [];
    const watcher = watch(join(dir, 'supervise'), (_event, file) => names.push(String(file)));
    try {
      process.kill(first.pid!, 'SIGKILL');
      const again = await sb.waitStatus('web', (s) => s.state === 'up' && s.restarts === 1, 'up again');
      expect(again.pid).not.toBe(first.pid);
      // inotify keeps order: once our own file's event is seen, every rename before it was seen too
      writeFileSync(join(dir, 'supervise', 'sentinel.test'), '');
      await waitFor(() => names.includes('sentinel.test'), 'the sentinel seen');
      // before: two (`starting` with the new pid, then `up`)
      expect(names.filter((f) => f === 'status.json')).toHaveLength(1);
    } finally {
      watcher.close();
    }
  });

  it.skipIf(!HAS_STRACE)(
    'svrun never waits for the disk: no fsync of its files in its life, a restart included (needs strace)',
    async () => {
      const dir = sb.service('web', 'exec sleep 1000');
      const trace = sb.path('fsync.trace');
      const traced = spawn(
        'strace',
        ['-f', '-qq', '--seccomp-bpf', '-e', 'trace=fsync,fdatasync', '-o', trace, process.execPath, SVRUN, dir],
        {
          env: sb.env,
          stdio: 'ignore',
        },
      );
      // (sb's cleanup kills strace and svrun should this fail: both carry the sandbox's token)
      const first = await sb.waitStatus('web', (s) => s.state === 'up', 'up', 20_000);
      process.kill(first.pid!, 'SIGKILL');
      await sb.waitStatus('web', (s) => s.state === 'up' && s.restarts === 1, 'up again', 20_000);
      control(dir, 'x');
      expect(await exitOf(traced)).toBe(0);
      // before: one fsync per status.json write (four here: up, starting, up, down); Node's own
      // fsync of stdout and stderr at exit (EINVAL on /dev/null) is not svrun's
      expect(readFileSync(trace, 'utf8')).not.toMatch(/f(data)?sync\((?![12]\))\d+\)/);
    },
  );
});
