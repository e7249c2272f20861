// svctl's quick path (src/svctl/fastpath.ts): status and check read without
// commander. What it takes, it must do exactly as commander would (same
// output, same exit code); everything else is left to commander. Status and
// check read no service definition they do not need (seen from the files'
// access times: a read updates a file's atime when it is older than a day).
// The built svctl loading none of what only the other commands use:
// fastpath.proc.test.ts.
import { statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_OK } from '../../src/defaults.js';
import { parseQuick, quickCommand } from '../../src/svctl/fastpath.js';
import { cmdStatus } from '../../src/svctl/commands/status.js';
import { cmdCheck } from '../../src/svctl/commands/check.js';
import { runCommand } from '../../src/svctl/cli.js';
import { type Sandbox, withSandbox } from '../helpers.js';
import { captureCtx, captureSink, DEAD_PID, prepareStatus, svctlInProcess, thisProcessAsSupervisor } from './inprocess.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

/** web: up under a live supervisor (this process); db: never run; bad: an invalid definition; worker@ a template with worker@1. */
const prepare = () => {
  const sup = thisProcessAsSupervisor();
  prepareStatus(sb.service('web', 'exec sleep 1000', { 'timeout-kill': '300' }), {
    supervisor: sup,
    state: 'up',
    pid: DEAD_PID,
    pidStart: 1,
    startedAt: new Date(Date.now() - 3 * 3600_000).toISOString(),
  });
  sb.service('db', 'exec sleep 1000', { 'timeout-kill': '300' });
  sb.service('bad', 'exec sleep 1000', { 'timeout-kill': 'soon' });
  sb.service('worker@', 'exec sleep 1000');
  sb.service('worker@1', 'exec sleep 1000');
};

/** Command lines the quick path takes: each must print and exit exactly as through commander. */
const TAKEN = (scan: string): string[][] => [
  ['-d', scan, 'status'],
  ['-d', scan, 'status', 'web'],
  ['--dir', scan, 'status', 'web', 'db'],
  [`--dir=${scan}`, 'check'],
  ['check', '-d', scan, 'web'],
  ['status', 'web', '--dir', scan, '--json'],
  ['--json', '-d', scan, 'check', 'db', 'bad'],
  ['-t', '5000', '-d', scan, 'status', 'worker@'],
  ['-d', scan, '--timeout=10', 'check', 'web', 'web'],
  ['-d', scan, 'status', 'nosuch', 'web'],
  ['-d', scan, 'check', 'worker@'],
  ['-d', '/nonexistent/svkit-scan', 'status'],
  ['-d', scan, '-d', '/nonexistent/svkit-scan', 'check'],
  ['-d', scan, 'status', 'check'],
];

/** Command lines left to commander: help, version, other commands, options it reads otherwise or refuses. */
const LEFT = (scan: string): string[][] => [
  [],
  ['-d', scan],
  ['-V'],
  ['--help'],
  ['status', '--help'],
  ['help', 'status'],
  ['-d', scan, 'up'],
  ['-d', scan, 'graph'],
  [`-d${scan}`, 'status'],
  ['-d', scan, 'status', '--', 'web'],
  ['-d', scan, 'status', '-x'],
  ['-d', '-x', 'status'],
  ['-d'],
  ['-d', scan, 'status', '--json=1'],
  ['-t', 'soon', '-d', scan, 'status'],
  ['-t', '-1', '-d', scan, 'check'],
  ['--timeout=', '-d', scan, 'check'],
  ['-d', scan, 'stat'],
];

describe('the quick path (status and check without commander)', () => {
  it('takes plain command lines of status and check, and prints and exits exactly as commander', async () => {
    prepare();
    for (const argv of TAKEN(sb.scan)) {
      expect(parseQuick(argv), argv.join(' ')).not.toBeNull();
      const c = captureSink();
      const code = await quickCommand(argv, c.sink)!();
      const quick = { code, stdout: c.out(), stderr: c.err() };
      expect(quick, argv.join(' ')).toEqual(await svctlInProcess(argv));
    }
  });

  it('leaves everything else to commander (help, other commands, options it would read otherwise or refuse)', () => {
    for (const argv of LEFT(sb.scan)) expect(parseQuick(argv), argv.join(' ')).toBeNull();
  });

  it('reads the global options as commander does: the last of each wins, values after the command too', () => {
    expect(parseQuick(['-d', 'a', 'status', 'x', '--dir', 'b', '-t', '7', '--json', 'y'])).toEqual({
      command: 'status',
      opts: { dir: 'b', timeout: 7, json: true },
      names: ['x', 'y'],
    });
  });
});

describe('status and check read definitions only when they need them', () => {
  /** Marks `file` read long ago (atime and mtime three days back): a read moves its atime to now (relatime). */
  const ageing = (file: string) => {
    const old = new Date(Date.now() - 3 * 86400_000);
    utimesSync(file, old, old);
    return () => statSync(file).atimeMs > old.getTime() + 1000;
  };

  it('of a supervised service, and of the other services, nothing is read', async () => {
    prepare();
    const webRead = ageing(join(sb.scan, 'web', 'timeout-kill'));
    const dbRead = ageing(join(sb.scan, 'db', 'timeout-kill'));
    const badRead = ageing(join(sb.scan, 'bad', 'timeout-kill'));
    const status = captureCtx(sb.scan);
    expect(await runCommand(status.ctx, (c) => cmdStatus(c, ['web']))).toBe(EXIT_OK);
    expect(status.out()).toMatch(/\nweb +up /);
    expect(await runCommand(captureCtx(sb.scan).ctx, (c) => cmdCheck(c, ['web']))).toBe(EXIT_OK);
    expect(await runCommand(captureCtx(sb.scan, { json: true }).ctx, (c) => cmdStatus(c, ['web']))).toBe(EXIT_OK);
    expect([webRead(), dbRead(), badRead()]).toEqual([false, false, false]);
    // an unsupervised service's type matters (a oneshot stays up): its definition is read, which the probe sees
    const { ctx, out } = captureCtx(sb.scan);
    expect(await runCommand(ctx, (c) => cmdStatus(c, ['db']))).toBe(EXIT_OK);
    expect(out()).toMatch(/db +down/);
    expect([webRead(), dbRead(), badRead()]).toEqual([false, true, false]);
  });
});
