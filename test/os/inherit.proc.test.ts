// Services inherit nothing: descriptors the caller of svrun or svctl had open
// (here a root-only file on fd 30 and an append-only file on fd 31, as a root
// shell's `exec 30</secret 31>>/file` would leave them) reach no service, and
// no svrun that svctl starts, whatever user the service runs as.
import { spawn, type StdioOptions } from 'node:child_process';
import { chmodSync, closeSync, openSync, readdirSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exitOf, type Sandbox, SVCTL, SVRUN, svrunPids, waitFor, withSandbox } from '../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const isRoot = process.getuid?.() === 0;

const fdsOf = (pid: number): number[] =>
  readdirSync(`/proc/${pid}/fd`)
    .map(Number)
    .sort((a, b) => a - b);

/** Runs node `script` args with a secret on fd 30 and an appendable file on fd 31; resolves with its process. */
const withOpenFiles = (script: string, args: string[]) => {
  const secret = sb.path('secret');
  writeFileSync(secret, 'root only\n', { mode: 0o600 });
  const fd30 = openSync(secret, 'r');
  const fd31 = openSync(sb.path('appendable'), 'a');
  const stdio: StdioOptions = ['ignore', 'ignore', 'ignore', ...Array<'ignore'>(27).fill('ignore'), fd30, fd31];
  const child = spawn(process.execPath, [script, ...args], { env: sb.env, stdio, cwd: sb.dir });
  closeSync(fd30);
  closeSync(fd31);
  expect(fdsOf(child.pid!)).toEqual(expect.arrayContaining([30, 31])); // they did reach it
  return child;
};

/** A service that only sleeps (it opens nothing itself), as nobody where the test runs as root. */
const sleeper = (): { dir: string; m: string } => {
  const m = sb.marker('svc');
  const dir = sb.service('svc', `exec ${m} 1000`, isRoot ? { user: 'nobody' } : {});
  if (isRoot) {
    chmodSync(sb.dir, 0o755);
    chmodSync(sb.scan, 0o755);
  }
  return { dir, m };
};

describe('services inherit no descriptor', () => {
  it('svrun started with fds 30 and 31 open: its service has 0, 1 and 2 only', async () => {
    const { dir, m } = sleeper();
    withOpenFiles(SVRUN, [dir]);
    const st = await sb.waitRunning('svc', m);
    expect(fdsOf(st.pid!)).toEqual([0, 1, 2]);
  });

  it('svctl up started with fds 30 and 31 open: neither the svrun it starts nor the service gets them', async () => {
    const { dir, m } = sleeper();
    const svctl = withOpenFiles(SVCTL, ['up', 'svc']);
    expect(await exitOf(svctl)).toBe(0);
    const st = await sb.waitRunning('svc', m);
    expect(fdsOf(st.pid!)).toEqual([0, 1, 2]);
    const [svrun] = await waitFor(() => svrunPids(dir), 'the svrun svctl started');
    expect(fdsOf(svrun!)).not.toContain(30);
    expect(fdsOf(svrun!)).not.toContain(31);
  });
});
