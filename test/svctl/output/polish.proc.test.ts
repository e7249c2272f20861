// What svctl says as a person reads it (issue 22's terminal polish), with
// real supervisors: `up` says when a service that was ready has exited by
// the time it reports (a crash loop shows without `svctl check`);
// `restart web` shows only what it restarted or had to start; under boot on
// a terminal, a supervisor that `svctl restart` starts keeps its coloured
// name, and `svctl logs` says where the lines go.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findExecutable } from '../../../src/os/procgroup.js';
import { exitStatus } from '../../../src/signals.js';
import { exitOf, type Run, type Sandbox, SVCTL, waitFor, withSandbox } from '../../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const script = findExecutable('script');

/** svctl on a pseudo-terminal (util-linux `script` records what it wrote there); -e: svctl's exit code. */
const onTerminal = async (args: string[]): Promise<Run> => {
  const out = sb.path(`.term.${Math.random().toString(16).slice(2)}`);
  const fo = openSync(out, 'w');
  const env: NodeJS.ProcessEnv = { ...sb.env, TERM: 'xterm' };
  for (const k of ['NO_COLOR', 'FORCE_COLOR', 'CI']) delete env[k];
  const line = [process.execPath, SVCTL, ...args].map((a) => `'${a}'`).join(' ');
  const child = spawn(script!, ['-qfec', line, '/dev/null'], { env, stdio: ['ignore', fo, 'ignore'], cwd: sb.dir });
  closeSync(fo);
  const code = await new Promise<number>((res) => child.on('exit', (c, s) => res(exitStatus(c, s))));
  return { code, stdout: readFileSync(out, 'utf8'), stderr: '' };
};

/** Text without escape codes and carriage returns: what the terminal's lines read. */
const visible = (t: string) => t.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\r/g, '');

describe('terminal polish', { timeout: 60_000 }, () => {
  it('up: a service that was ready but has exited by the time up reports is said to have, exit 0 still', async () => {
    // crash is ready at once (no readiness file) and exits 3 once slow has started; slow is ready only
    // once crash's exit is on record, so up reports after it
    const go = sb.path('crash-go');
    const crashed = join(sb.scan, 'crash', 'supervise', 'status.json');
    sb.service('crash', `until [ -e ${go} ]; do sleep 0.01; done\nexit 3`, { 'timeout-kill': '300' });
    sb.service('slow', `touch ${go}\nuntil grep -q '"code": 3' ${crashed} 2>/dev/null; do sleep 0.01; done\necho >&3\nexec sleep 1000`, {
      'notification-fd': '3',
      'timeout-kill': '300',
    });
    const r = await sb.svctl(['up']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^crash: ready in [\d.]+ m?s$/m);
    expect(r.stdout).toMatch(/^crash: ready, but exited 3 and (is restarting \(backoff\)|was restarted \(\d+ restarts?\))$/m);
    expect(r.stdout).toMatch(/^slow: ready in /m);
    expect((await sb.svctl(['down'])).code).toBe(0);
  });

  it.runIf(script)(
    'restart web on a terminal: web down and up again; db, which it requires and which stays up, not shown (needs script(1))',
    async () => {
      sb.service('db', 'exec sleep 1000', { 'timeout-kill': '300' });
      sb.service('web', 'exec sleep 1000', { requires: 'db', 'timeout-kill': '300' });
      expect((await sb.svctl(['up'])).code).toBe(0);
      const r = await onTerminal(['restart', 'web']);
      expect(r.code).toBe(0);
      const text = visible(r.stdout);
      expect(text).toMatch(/^web +ready in /m);
      expect(text).not.toMatch(/^db\b/m);
      expect(text).toMatch(/^1 up in /m); // the summary counts what it did
      expect((await sb.svctl(['down'])).code).toBe(0);
    },
  );

  it.runIf(script)(
    'under boot on a terminal: svctl restart keeps the coloured name; svctl logs names the terminal (needs script(1))',
    async () => {
      sb.service('web', 'echo "hello $$"\nexec sleep 1000', { 'timeout-kill': '300' });
      const out = sb.path('boot.term');
      const fo = openSync(out, 'w');
      const env: NodeJS.ProcessEnv = { ...sb.env, TERM: 'xterm' };
      for (const k of ['NO_COLOR', 'FORCE_COLOR', 'CI']) delete env[k];
      const term = spawn(script!, ['-qfc', `'${process.execPath}' '${SVCTL}' boot`, '/dev/null'], {
        env,
        stdio: ['ignore', fo, 'ignore'],
        cwd: sb.dir,
      });
      closeSync(fo);
      const text = () => readFileSync(out, 'utf8');
      const first = await sb.waitStatus('web', (x) => x.state === 'up', 'web up under boot', 15_000);
      // boot's own supervisor: its name coloured (boot's stdout is a terminal)
      const name = /(\x1b\[3\dm)web\x1b\[0m \| out hello/.exec(
        await waitFor(
          () => (/web\x1b\[0m \| out hello/.test(text()) ? text() : null),
          () => `web's first line: ${JSON.stringify(text())}`,
          10_000,
        ),
      );
      expect((await sb.svctl(['restart', 'web'])).code).toBe(0);
      const again = await sb.waitStatus(
        'web',
        (x) => x.state === 'up' && x.supervisor?.pid !== first.supervisor?.pid,
        'web up again',
        15_000,
      );
      // the new supervisor, started by svctl, writes through boot's FIFO: the same colour
      await waitFor(
        () => text().includes(`${name![1]}web\x1b[0m | out hello ${again.pid}`),
        () => `the restarted web's coloured line: ${JSON.stringify(text())}`,
        10_000,
      );
      const logs = await sb.svctl(['logs', 'web']);
      expect(logs.code).toBe(1);
      expect(logs.stderr).toMatch(/^svctl: web: logs through svctl boot to the terminal \/dev\/pts\/\d+\n$/);
      const boot = sb.tokenPids().find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`${SVCTL}\0boot`));
      process.kill(boot!, 'SIGTERM');
      expect(await exitOf(term)).toBe(0);
    },
  );
});
