// svctl up with fewer descriptors than it would take to start everything at
// once: it starts as many at a time as its limit allows (each launch holds
// one descriptor until its svrun supervises), so every service comes up;
// and no launch leaves anything in the temporary folder, whatever happens.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MIN_FDS_SVCTL } from '../../../src/defaults.js';
import { findExecutable } from '../../../src/os/procgroup.js';
import { exitOf, type Sandbox, SVCTL, withSandbox } from '../../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const prlimit = findExecutable('prlimit');
/** More services than fit under MIN_FDS_SVCTL at once (Node alone holds about 20). */
const SERVICES = 24;

describe.runIf(prlimit)('svctl up at a low descriptor limit (needs prlimit)', { timeout: 90_000 }, () => {
  it(`${SERVICES} independent services at the least limit svctl accepts: all up, exit 0, nothing left in the temporary folder`, async () => {
    const names = Array.from({ length: SERVICES }, (_, i) => `s${i + 1}`);
    for (const n of names) sb.service(n, 'exec sleep 1000', { 'timeout-kill': '300' });
    const tmp = sb.path('tmp');
    mkdirSync(tmp);
    process.env.TMPDIR = tmp;
    const r = await sb.exec(prlimit!, [`--nofile=${MIN_FDS_SVCTL}:${MIN_FDS_SVCTL}`, process.execPath, SVCTL, 'up'], 60_000);
    delete process.env.TMPDIR;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const n of names) expect(sb.status(n)?.state, n).toBe('up');
    expect(readdirSync(tmp)).toEqual([]);
    expect(readdirSync(sb.scan).filter((f) => f.startsWith('.'))).toEqual([]); // the scan lock released
    expect((await sb.svctl(['down'], 60_000)).code).toBe(0);
  });

  it('descriptors used up by what svctl inherited: each service not started is named in one line, nothing is left behind', async () => {
    sb.service('a', 'exec sleep 1000');
    sb.service('b', 'exec sleep 1000', { requires: 'a' });
    const tmp = sb.path('tmp');
    mkdirSync(tmp);
    // 16 descriptors handed down open: svctl starts (Node holds about 20) but has none to spare for a launch
    const fds = Array.from({ length: 16 }, () => openSync('/dev/null', 'r'));
    const out = sb.path('up.err');
    const fe = openSync(out, 'w');
    const child = spawn(prlimit!, [`--nofile=${MIN_FDS_SVCTL}:${MIN_FDS_SVCTL}`, process.execPath, SVCTL, 'up'], {
      env: { ...sb.env, TMPDIR: tmp },
      stdio: ['ignore', 'ignore', fe, ...fds],
    });
    closeSync(fe);
    for (const fd of fds) closeSync(fd);
    const code = await exitOf(child);
    const err = readFileSync(out, 'utf8');
    // either svctl's own start-up check or the launch gate refuses; never a raw EMFILE, never a stack trace
    expect(err).not.toMatch(/EMFILE|\n\s+at /);
    expect(code).toBe(1);
    expect(err).toMatch(
      /^svctl: (a: too few file descriptors to start a supervisor \(limit \d+, \d+ open\): raise the limit \(ulimit -n\)\nsvctl: b: not started because a failed\n|too few file descriptors \(limit \d+, used up by descriptors inherited open, needs at least 40\).*\n)$/,
    );
    expect(sb.status('a')?.state ?? 'never started').not.toBe('up');
    expect(readdirSync(tmp)).toEqual([]);
    expect(readdirSync(sb.scan).filter((f) => f.startsWith('.'))).toEqual([]);
  });
});
