// svrun's command line as a person meets it: --help, a usage error, and the
// log shown on the terminal svrun runs in (a pseudo-terminal from script(1)),
// never on output that is not a terminal (svctl, boot, pipes).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_OK, EXIT_USAGE } from '../../src/defaults.js';
import { exitOf, isAlive, ROOT, type Sandbox, SVRUN, waitFor, withSandbox } from '../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const hasScript = spawnSync('script', ['--version']).status === 0;

describe('svrun --help', () => {
  it.each(['--help', '-h'])('%s prints the help page on stdout and exits 0', async (flag) => {
    const r = await sb.svrunSync([flag]);
    expect(r.code).toBe(EXIT_OK);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^usage: svrun \[--log file\|stdout\] .* DIR\.\.\.\n\n/);
    for (const part of [
      'Options:',
      '--want down',
      'The service folder',
      'notification-fd',
      'Exit codes:',
      '  100  ',
      '  111  ',
      'SVKIT_STATE_DIR',
      'docs/svrun.md',
    ]) {
      expect(r.stdout).toContain(part);
    }
    for (const line of r.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('an unknown option is one line on stderr, exit 2, and nothing created', async () => {
    const dir = sb.service('web', 'exec sleep 1000');
    const r = await sb.svrunSync(['--bogus', dir]);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^svrun: unknown option "--bogus" \(usage: svrun .* DIR\.\.\.\)\n$/);
    expect(sb.status('web')).toBeNull();
  });
});

describe('svrun stays lean', () => {
  it('loading svrun pulls in neither commander nor koffi (koffi comes with the first pipe2, at the first start)', () => {
    const probe = `await import(${JSON.stringify(join(ROOT, 'dist/src/supervisor/svrun.js'))});
      const { createRequire } = await import('node:module');
      console.log(JSON.stringify(Object.keys(createRequire(process.cwd() + '/').cache)));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const loaded = JSON.parse(r.stdout) as string[];
    expect(loaded.some((f) => f.includes('/node_modules/proper-lockfile/'))).toBe(true); // the probe sees CommonJS packages
    expect(loaded.filter((f) => /\/node_modules\/(commander\/|(@koromix\/)?koffi)/.test(f))).toEqual([]); // koffi's native module included
  });
});

describe.skipIf(!hasScript)('svrun in a terminal (needs script(1))', () => {
  /** svrun on a pseudo-terminal: `script` runs it and copies what it shows to our pipe. */
  const onTerminal = (dir: string): ChildProcess & { shown: () => string } => {
    const cmd = [process.execPath, SVRUN, dir].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { env: sb.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let shown = '';
    child.stdout!.on('data', (d) => (shown += d));
    return Object.assign(child, { shown: () => shown });
  };

  it('shows each log line on the terminal as it is written to log/current', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `echo hello-terminal; echo oops >&2; exec ${m} 1000`);
    const tty = onTerminal(dir);
    const st = await sb.waitRunning('web', m, 10_000);
    await waitFor(
      () => / err oops\r?\n/.test(tty.shown()),
      () => `the lines on the terminal: ${JSON.stringify(tty.shown())}`,
    );
    const shown = tty.shown().replace(/\r/g, '');
    for (const re of [/svrun started pid \d+\n/, / out hello-terminal\n/, / err oops\n/]) {
      const line = shown.split('\n').find((l) => re.test(`${l}\n`))!;
      expect(line, `${re} on the terminal`).toBeDefined();
      expect(sb.log('web')).toContain(`${line}\n`); // the very line of log/current, time included
    }
    const svrun = st.supervisor!.pid;
    process.kill(svrun, 'SIGTERM');
    await waitFor(() => !isAlive(svrun), 'svrun to exit');
    await exitOf(tty);
    expect(tty.shown()).toMatch(/svrun down\r?\n/); // the last lines too
  });

  it('shows nothing when its output is not a terminal', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `echo hello-pipe; exec ${m} 1000`);
    const sv = sb.svrun([dir]);
    await sb.waitRunning('web', m);
    await sb.waitLog('web', / out hello-pipe\n/);
    sv.kill('SIGTERM');
    expect(await exitOf(sv)).toBe(0);
    expect(sb.log('web')).toMatch(/ svrun down\n$/);
    expect(sv.output()).toBe('');
  });
});
