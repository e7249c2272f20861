// The README's first tour, run as a newcomer would: `npm start` in one
// terminal (services.example under svctl boot), the tour's commands in
// another, exactly as the README writes them, in a checkout with no
// ./services and no $SVDIR of its own; then Ctrl-C in the first terminal.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, openSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readStatus } from '../../src/supervise/status.js';
import { exitOf, freePort, ROOT, type Sandbox, waitFor, withSandbox } from '../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

/** The indented block after the README's "In another terminal" paragraph, one command a line. */
const tourCommands = (readme: string): string[] => {
  const lines = readme.split('\n');
  const at = lines.findIndex((l) => l.includes('In another terminal'));
  if (at < 0) throw new Error('README.md: no tour ("In another terminal")');
  const start = lines.findIndex((l, i) => i > at && l.startsWith('    '));
  const block: string[] = [];
  for (const l of lines.slice(start)) {
    if (!l.startsWith('    ')) break;
    block.push(l.slice(4));
  }
  return block;
};

const SERVICES = ['api', 'clock', 'db', 'metrics', 'web'];

describe('the README tour', () => {
  it('works as written: npm start in one terminal, the tour commands in another, Ctrl-C', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const tour = tourCommands(readme);
    expect(tour.length).toBeGreaterThan(3);
    // what the README says npm start runs is what it runs
    const start = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start as string;
    expect(start).toBe('node dist/cmd/svctl.js boot -d services.example');
    expect(readme).toContain('`npm start` runs `svctl boot -d services.example`');

    // a checkout: package.json, the build, services.example (its own copy: supervise/ is written into it)
    const checkout = sb.path('svkit');
    cpSync(join(ROOT, 'services.example'), join(checkout, 'services.example'), {
      recursive: true,
      filter: (src) => !/\/(supervise|log)$/.test(src),
    });
    cpSync(join(ROOT, 'package.json'), join(checkout, 'package.json'));
    symlinkSync(join(ROOT, 'dist'), join(checkout, 'dist'));
    const scan = join(checkout, 'services.example');
    const status = (name: string) => {
      const r = readStatus(join(scan, name, 'supervise', 'status.json'));
      return r.kind === 'ok' ? r.status : null;
    };
    // the newcomer's environment: no scan directory of its own; ports of this test's own
    const env: NodeJS.ProcessEnv = { ...sb.env, PORT: String(await freePort()), METRICS_LISTEN: `127.0.0.1:${await freePort()}` };
    delete env.SVDIR;

    // terminal 1: npm start, in a process group of its own (a terminal's foreground job)
    const out = openSync(sb.path('npm-start.out'), 'w');
    const npm = spawn('npm', ['start'], { cwd: checkout, env, stdio: ['ignore', out, out], detached: true });
    closeSync(out);
    const startOutput = () => (existsSync(sb.path('npm-start.out')) ? readFileSync(sb.path('npm-start.out'), 'utf8') : '');
    await waitFor(
      () => SERVICES.every((n) => status(n)?.state === 'up'),
      () => `every service up: ${startOutput()}`,
      30_000,
    );
    const before = { web: status('web')!.pid, clock: status('clock')!.pid };

    // terminal 2: the tour, line by line as typed into an interactive bash (aliases expand), stopping at the first failure
    writeFileSync(sb.path('tour.sh'), `${tour.join('\n')}\n`);
    const r = spawnSync('bash', ['-O', 'expand_aliases', '-e', sb.path('tour.sh')], {
      cwd: checkout,
      env,
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const n of SERVICES) expect(r.stdout).toContain(n); // status named every service
    // what the tour says happened did: web and clock were stopped and started again, and are up
    await waitFor(() => status('web')?.state === 'up' && status('clock')?.state === 'up', 'web and clock up again');
    expect(status('web')!.pid).not.toBe(before.web);
    expect(status('clock')!.pid).not.toBe(before.clock);

    // Ctrl-C in terminal 1: SIGINT to its foreground process group; everything stops
    process.kill(-npm.pid!, 'SIGINT');
    await exitOf(npm);
    await waitFor(
      () => SERVICES.every((n) => status(n)?.state === 'down'),
      () => `every service down: ${SERVICES.map((n) => `${n}=${status(n)?.state}`).join(' ')}`,
      30_000,
    );
    await waitFor(
      () => sb.tokenPids().length === 0,
      () => `nothing left running: ${sb.tokenPids().join(' ')}`,
      10_000,
    );
  }, 120_000);
});
