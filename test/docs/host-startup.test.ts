// docs/boot.md "On a host": the systemd unit is one systemd accepts as
// written (systemd-analyze verify, with ExecStart pointing at this
// checkout's svctl), with the settings boot's shutdown needs; and the runit
// `run` works: runsv starts boot, boot the services, and `sv down` stops
// them all through boot. (boot's sd_notify itself: sdnotify.proc.test.ts.)
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS, KILL_WAIT_MS } from '../../src/defaults.js';
import { findExecutable } from '../../src/os/procgroup.js';
import { fencedBlock } from './commands.js';
import { exitOf, isAlive, pidsByArgv0, ROOT, type Sandbox, SVCTL, waitFor, withSandbox } from '../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const doc = readFileSync(join(ROOT, 'docs/boot.md'), 'utf8');
const unit = fencedBlock(doc, 'ini');
const runScript = fencedBlock(doc, 'sh');
const setting = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(unit)?.[1];

describe('docs/boot.md: starting svkit on a host', { timeout: 60_000 }, () => {
  it('the systemd unit: Type=notify, SIGTERM to boot alone, stop timeout above --shutdown-timeout', () => {
    expect(setting('Type')).toBe('notify');
    expect(setting('ExecStart')).toMatch(/^\S*svctl boot -d \S+$/);
    expect(setting('KillMode')).toBe('mixed');
    expect(Number(setting('TimeoutStopSec')) * 1000).toBeGreaterThan(DEFAULT_SHUTDOWN_TIMEOUT_MS + KILL_WAIT_MS);
  });

  const verify = findExecutable('systemd-analyze');
  it.runIf(verify)('the systemd unit passes systemd-analyze verify as written (needs systemd-analyze)', () => {
    const file = sb.path('svkit.service');
    writeFileSync(file, unit.replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath} ${SVCTL}`));
    const r = spawnSync(verify!, ['verify', file], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  const runsv = findExecutable('runsv');
  const sv = findExecutable('sv');
  it.runIf(runsv && sv)('the runit run: runsv starts boot, boot the services; sv down stops them through boot (needs runit)', async () => {
    const m = sb.marker('web');
    sb.service('web', `exec ${m} 1000`);
    const host = join(sb.dir, 'runit', 'svkit');
    mkdirSync(host, { recursive: true });
    // as written, with this checkout's svctl and the test's scan directory
    writeFileSync(join(host, 'run'), runScript.replace('exec svctl ', `exec ${process.execPath} ${SVCTL} `).replace('/etc/svkit', sb.scan));
    chmodSync(join(host, 'run'), 0o755);
    const r = spawn(runsv!, [host], { env: sb.env, stdio: 'ignore' });
    const up = await sb.waitStatus('web', (s) => s.state === 'up', 'web up under boot under runsv', 15_000);
    const status = () => spawnSync(sv!, ['status', host], { encoding: 'utf8' }).stdout;
    expect(status()).toMatch(/^run: /);
    expect(spawnSync(sv!, ['down', host]).status).toBe(0);
    await waitFor(() => pidsByArgv0(m).length === 0 && !isAlive(up.supervisor!.pid), 'web and its supervisor stopped by boot', 15_000);
    await waitFor(
      () => /^down: /.test(status()),
      () => `boot down (sv status: ${status()})`,
      15_000,
    );
    expect(sb.status('web')!.state).toBe('down');
    spawnSync(sv!, ['exit', host]);
    expect(await exitOf(r)).toBe(0);
  });
});
