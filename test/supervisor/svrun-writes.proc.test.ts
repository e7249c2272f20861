// What svrun writes in a service folder (supervise/, log/) is written there
// and nowhere else: never through a planted symlink, never into a planted
// FIFO; its files are put back when someone else overwrites them, and put
// right once a full disk has room again. Each case runs the real svrun.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { control, exitOf, isAlive, type Sandbox, waitFor, withSandbox } from '../helpers.js';
import { readStatus } from '../../src/supervise/status.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const SECRET = 'root:$6$secret:19000:0:99999:7:::\n';

/** A file outside the service folder that a planted symlink points to: it must stay as it is. */
const victim = (name = 'victim'): string => {
  const path = sb.path(name);
  writeFileSync(path, SECRET, { mode: 0o600 });
  return path;
};

const mode = (path: string) => statSync(path).mode & 0o7777;

describe('svrun writes nothing through a planted symlink', () => {
  it('log/current -> a file elsewhere: moved aside, logging goes on in a fresh log/current, the file is untouched', async () => {
    const shadow = victim();
    const dir = sb.service('web', 'echo hello; exec sleep 1000');
    mkdirSync(join(dir, 'log'));
    symlinkSync(shadow, join(dir, 'log', 'current'));
    sb.svrun([dir]);
    await sb.waitStatus('web', (s) => s.state === 'up', 'up');
    await waitFor(
      () => lstatSync(join(dir, 'log', 'current')).isFile() && /out hello$/m.test(sb.log('web')),
      'hello in a regular log/current',
    );
    expect(sb.log('web')).toMatch(/svrun error: log: .*current: a symlink, not a regular file: moved aside to current\..*\.not-a-file$/m);
    expect(readFileSync(shadow, 'utf8')).toBe(SECRET);
    const aside = readdirSync(join(dir, 'log')).filter((f) => f.endsWith('.not-a-file'));
    expect(aside).toHaveLength(1);
    expect(lstatSync(join(dir, 'log', aside[0]!)).isSymbolicLink()).toBe(true);
  });

  it('a FIFO at log/current neither freezes svrun nor takes its lines', async () => {
    const dir = sb.service('web', 'echo hello; exec sleep 1000');
    mkdirSync(join(dir, 'log'));
    execFileSync('mkfifo', [join(dir, 'log', 'current')]);
    sb.svrun([dir]);
    await sb.waitStatus('web', (s) => s.state === 'up', 'up (svrun not stuck opening the FIFO)');
    await waitFor(
      () => lstatSync(join(dir, 'log', 'current')).isFile() && /out hello$/m.test(sb.log('web')),
      'hello in a regular log/current',
    );
    expect(sb.log('web')).toMatch(/current: a FIFO, not a regular file: moved aside/);
  });

  it('supervise/pid -> a file elsewhere: replaced by a regular pid file, the file is untouched', async () => {
    const shadow = victim();
    const dir = sb.service('web', 'exec sleep 1000');
    mkdirSync(join(dir, 'supervise'));
    symlinkSync(shadow, join(dir, 'supervise', 'pid'));
    sb.svrun([dir]);
    const st = await sb.waitStatus('web', (s) => s.state === 'up', 'up');
    await waitFor(() => lstatSync(join(dir, 'supervise', 'pid')).isFile(), 'a regular supervise/pid');
    expect(readFileSync(join(dir, 'supervise', 'pid'), 'utf8')).toBe(`${st.pid}\n`);
    expect(readFileSync(shadow, 'utf8')).toBe(SECRET);
  });

  it('supervise/status.json.PID.tmp -> a file elsewhere: the next status write neither truncates nor fills it', async () => {
    const shadow = victim();
    const dir = sb.service('web', 'exec sleep 1000');
    const sv = sb.svrun([dir]);
    const first = await sb.waitStatus('web', (s) => s.state === 'up', 'up');
    symlinkSync(shadow, join(dir, 'supervise', `status.json.${sv.pid}.tmp`));
    process.kill(first.pid!, 'SIGKILL'); // a change of state: status.json is written again
    await sb.waitStatus('web', (s) => s.state === 'up' && s.restarts === 1, 'restarted');
    expect(readFileSync(shadow, 'utf8')).toBe(SECRET);
  });

  it("control as a symlink or a regular file: replaced by svrun's own FIFO, the target untouched", async () => {
    // (this one held before the change too: ensureFifo looked with lstat; kept as a guard)
    const shadow = victim();
    for (const [name, plant] of [
      ['a', (p: string) => symlinkSync(shadow, p)],
      ['b', (p: string) => writeFileSync(p, 'not a fifo')],
    ] as const) {
      const dir = sb.service(name, 'exec sleep 1000');
      mkdirSync(join(dir, 'supervise'));
      plant(join(dir, 'supervise', 'control'));
      sb.svrun([dir]);
      await sb.waitStatus(name, (s) => s.state === 'up', 'up');
      expect(lstatSync(join(dir, 'supervise', 'control')).isFIFO()).toBe(true);
      control(dir, 'd');
      await sb.waitStatus(name, (s) => s.state === 'down', 'down by the control FIFO');
    }
    expect(readFileSync(shadow, 'utf8')).toBe(SECRET);
  });
});

describe('a symlinked supervise/ or log/ folder', () => {
  it("is accepted when the link and its target are svrun's user's and the target is writable by it alone (a dangling one is created)", async () => {
    const dir = sb.service('web', 'echo hello; exec sleep 1000');
    const state = sb.path('run-state');
    mkdirSync(state, { mode: 0o755 });
    chmodSync(state, 0o755);
    symlinkSync(join(state, 'supervise.web'), join(dir, 'supervise')); // dangling: like /run after a reboot
    mkdirSync(join(state, 'log.web'), { mode: 0o750 });
    symlinkSync(join(state, 'log.web'), join(dir, 'log'));
    sb.svrun([dir]);
    const st = await sb.waitStatus('web', (s) => s.state === 'up', 'up');
    expect(readStatus(join(state, 'supervise.web', 'status.json'))).toMatchObject({ kind: 'ok', status: { pid: st.pid } });
    await waitFor(() => /out hello$/m.test(readFileSync(join(state, 'log.web', 'current'), 'utf8')), 'hello in the linked log folder');
  });

  // one representative: each reason for a refusal is test/os/safefile.test.ts's table
  it.each<[string, (target: string, link: string) => void, RegExp]>([
    ['a target writable by all', (t) => chmodSync(t, 0o777), /the target is writable by its group and others/],
  ])('is refused with exit 111 and one line naming the folder: %s', async (_name, spoil, why) => {
    for (const folder of ['supervise', 'log']) {
      const name = `s-${folder}`;
      const dir = sb.service(name, 'exec sleep 1000');
      const target = sb.path(`elsewhere-${folder}`);
      mkdirSync(target);
      chmodSync(target, 0o755);
      symlinkSync(target, join(dir, folder));
      spoil(target, join(dir, folder));
      const r = await sb.svrunSync([dir]);
      expect(r.code).toBe(111);
      expect(r.stderr).toMatch(
        new RegExp(`^svrun: ${name}/${folder}: symlink to ${target} refused: ${why.source} \\(.*SVKIT_STATE_DIR\\)\\n$`),
      );
      expect(readdirSync(target)).toEqual([]); // nothing created there
    }
  });
  it("a log/ logger's symlinked log/supervise follows the same rule", async () => {
    const dir = sb.service('web', 'exec sleep 1000', { 'log/run': '#!/bin/sh\nexec cat > /dev/null\n' });
    const target = sb.path('elsewhere');
    mkdirSync(target);
    chmodSync(target, 0o777);
    symlinkSync(target, join(dir, 'log', 'supervise'));
    const r = await sb.svrunSync([dir]);
    expect(r.code).toBe(111);
    expect(r.stderr).toMatch(
      /^svrun: web\/log\/supervise: symlink to .* refused: the target is writable by its group and others \(.*\)\n$/,
    );
    expect(readdirSync(target)).toEqual([]);
    expect(existsSync(join(dir, 'supervise', 'lock'))).toBe(false); // the lock it took is released
  });
});

describe('who may read what', () => {
  it('log files are 0640: a new log/current, an existing one (fixed on open), and the rotated ones', async () => {
    const dir = sb.service('web', 'for i in $(seq 400); do echo "line $i of some secret output"; done; exec sleep 1000', {
      'log/config': 'size 4096\nkeep 3\n',
    });
    writeFileSync(join(dir, 'log', 'current'), 'old line\n', { mode: 0o666 });
    chmodSync(join(dir, 'log', 'current'), 0o666);
    sb.svrun([dir]);
    await sb.waitLog('web', /line 400 of/);
    const rotated = readdirSync(join(dir, 'log')).filter((f) => f.startsWith('@'));
    expect(rotated.length).toBeGreaterThan(0);
    for (const f of [...rotated, 'current']) expect([f, mode(join(dir, 'log', f)).toString(8)]).toEqual([f, '640']);
    expect(mode(join(dir, 'supervise', 'status.json')).toString(8)).toBe('644');
    expect(mode(join(dir, 'supervise', 'pid')).toString(8)).toBe('644');
    expect(mode(join(dir, 'supervise', 'control')).toString(8)).toBe('600');
  });
});

describe('status.json and pid are put back when someone else writes them', () => {
  it.each<[string, (st: Record<string, unknown>) => string]>([
    ['garbage', () => 'garbage{'],
    ['a valid-looking status with another pid', (st) => JSON.stringify({ ...st, pid: 1, pidStart: 1, state: 'down' })],
  ])('status.json overwritten with %s while the service is up is rewritten', async (_name, replacement) => {
    const dir = sb.service('web', 'exec sleep 1000');
    sb.svrun([dir]);
    const st = await sb.waitStatus('web', (s) => s.state === 'up', 'up');
    writeFileSync(sb.statusPath('web'), replacement(st)); // in place, same inode
    await sb.waitStatus('web', (s) => s.pid === st.pid && s.state === 'up', 'status.json rewritten', 3000);
    // replaced (another inode) and removed
    writeFileSync(sb.path('new.json'), replacement(st));
    execFileSync('mv', [sb.path('new.json'), sb.statusPath('web')]);
    await sb.waitStatus('web', (s) => s.pid === st.pid && s.state === 'up', 'status.json rewritten after a rename over it', 3000);
    unlinkSync(sb.statusPath('web'));
    await sb.waitStatus('web', (s) => s.pid === st.pid && s.state === 'up', 'status.json rewritten after removal', 3000);
    writeFileSync(join(dir, 'supervise', 'pid'), '1\n');
    await waitFor(() => readFileSync(join(dir, 'supervise', 'pid'), 'utf8') === `${st.pid}\n`, 'supervise/pid rewritten', 3000);
  });
});

describe('supervise/pid while there is no pid', () => {
  it('exists, empty, from the start (a down service), and is put back when overwritten', async () => {
    const dir = sb.service('web', 'exec sleep 1000');
    sb.svrun(['--want', 'down', dir]);
    await sb.waitStatus('web', (s) => s.state === 'down', 'down');
    const pid = join(dir, 'supervise', 'pid');
    await waitFor(() => existsSync(pid) && readFileSync(pid, 'utf8') === '', 'an empty supervise/pid');
    writeFileSync(pid, '1\n');
    await waitFor(() => readFileSync(pid, 'utf8') === '', 'supervise/pid emptied again', 3000);
  });
});

const canMount = process.getuid?.() === 0;

describe('a full disk', () => {
  it.runIf(canMount)(
    'once space returns, status.json holds the latest state and the resolved status: error is cleared (needs root and mount)',
    async (ctx) => {
      const dir = sb.service('web', 'exec sleep 1000');
      const sup = join(dir, 'supervise');
      mkdirSync(sup);
      if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=32k', 'tmpfs', sup]).status !== 0) ctx.skip('cannot mount a tmpfs here');
      try {
        sb.svrun([dir]);
        const first = await sb.waitStatus('web', (s) => s.state === 'up', 'up');
        spawnSync('sh', ['-c', `dd if=/dev/zero of=${join(sup, 'fill')} bs=1k 2>/dev/null`]);
        process.kill(first.pid!, 'SIGKILL');
        await sb.waitLog('web', /svrun error: status: ENOSPC/);
        expect(sb.status('web')!.pid).toBe(first.pid); // the stale state the disk kept
        rmSync(join(sup, 'fill'));
        const st = await sb.waitStatus(
          'web',
          (s) => s.state === 'up' && s.pid !== first.pid && s.lastError === null,
          'the latest state, lastError cleared',
          5000,
        );
        expect(isAlive(st.pid)).toBe(true);
        expect(st.restarts).toBe(1);
        expect(readFileSync(join(sup, 'pid'), 'utf8')).toBe(`${st.pid}\n`);
        expect(readdirSync(sup).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      } finally {
        spawnSync('umount', ['-l', sup]);
      }
    },
  );
});

describe('a run that is not a file', () => {
  it('a run replaced by a folder: `error: run: not an executable file`, in lastError, retried with backoff', async () => {
    const dir = sb.service('web', 'exec sleep 1000');
    const sv = sb.svrun([dir]);
    const first = await sb.waitStatus('web', (s) => s.state === 'up', 'up');
    unlinkSync(join(dir, 'run'));
    mkdirSync(join(dir, 'run'));
    process.kill(first.pid!, 'SIGKILL');
    const st = await sb.waitStatus(
      'web',
      (s) => s.state === 'backoff' && s.lastError === 'run: not an executable file',
      'backoff with the error',
    );
    expect(st.nextStartAt).not.toBeNull();
    await sb.waitLog('web', /(svrun error: run: not an executable file\n[\s\S]*){2}/, 5000); // tried again
    expect(sb.log('web')).not.toMatch(/exited 126/);
    expect(isAlive(sv.pid)).toBe(true);
    sv.kill('SIGTERM');
    expect(await exitOf(sv)).toBe(0);
    expect(existsSync(join(dir, 'supervise', 'lock'))).toBe(false);
  });
});
