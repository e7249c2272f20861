// Too low a descriptor limit ends svrun and svctl with one clear line (and
// svrun before it locks anything), never a stack trace halfway through. Node
// itself crashes below about 19 descriptors, before any of our code runs
// (docs/decisions.md, Descriptors, says why).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIN_FDS_SVCTL, MIN_FDS_SVRUN } from '../../src/defaults.js';
import { findExecutable } from '../../src/os/procgroup.js';
import { exitOf, type Sandbox, SVCTL, SVRUN, withSandbox } from '../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const prlimit = findExecutable('prlimit');

describe.runIf(prlimit)('a descriptor limit too low to work with', () => {
  it('svrun: one line naming the limit, exit 111, nothing locked or created', async () => {
    const dir = sb.service('web', `exec ${sb.marker('web')} 1000`);
    const r = await sb.exec(prlimit!, ['--nofile=30:30', process.execPath, SVRUN, dir]);
    expect(r.stderr).toBe(
      `svrun: too few file descriptors (limit 30, needs at least ${MIN_FDS_SVRUN}): raise the hard limit (ulimit -Hn)\n`,
    );
    expect(r.code).toBe(111);
    expect(existsSync(join(dir, 'supervise'))).toBe(false);
  });

  it('svctl: one line naming the limit, exit 1', async () => {
    sb.service('web', `exec ${sb.marker('web')} 1000`);
    const r = await sb.exec(prlimit!, ['--nofile=30:30', process.execPath, SVCTL, 'status']);
    expect(r).toMatchObject({ code: 1, stdout: '' });
    expect(r.stderr).toBe(
      `svctl: too few file descriptors (limit 30, needs at least ${MIN_FDS_SVCTL}): raise the hard limit (ulimit -Hn)\n`,
    );
  });

  it('at the minimum, svrun supervises and stops on SIGTERM as usual', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `exec ${m} 1000`, { 'timeout-kill': '300' });
    const sv = spawn(prlimit!, [`--nofile=${MIN_FDS_SVRUN}:${MIN_FDS_SVRUN}`, process.execPath, SVRUN, dir], {
      env: sb.env,
      stdio: 'ignore',
    });
    await sb.waitRunning('web', m);
    sv.kill('SIGTERM'); // prlimit execs node: this is svrun
    expect(await exitOf(sv)).toBe(0);
  });
});
