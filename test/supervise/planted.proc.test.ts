// Issue 22, item 4: things planted in supervise/ (a folder at control, pid,
// status.json, reaper or log-pipe; a symlink, file or folder at lock; a
// lock/owner naming a live process) are each moved aside or put right, with
// one line in the log naming the file, never a raw errno and never a false
// state, whether svrun is started directly or by svctl, before it runs or
// while it runs. svctl writing to a control "FIFO" that is not one says so
// in one line naming the file.
import { spawn } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readOwner } from '../../src/supervise/owner.js';
import { exitOf, pidsByArgv0, procStat, type Sandbox, svrunPids, waitFor, withSandbox } from '../helpers.js';
import { blankStatus } from '../../src/supervise/status.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

/** pid 1, named with its start time: a live process that is no supervisor of ours. */
const init = () => `1 ${procStat(1)!.start}\n`;

interface Plant {
  /** What is planted, before anything runs. */
  plant: (sup: string) => void;
  /** The line the supervisor logs about it (null: put right silently). */
  says: RegExp | null;
  /** The service has a log/run logger (log-pipe lives in supervise/ then). */
  logger?: boolean;
}

const folder = (name: string) => (sup: string) => {
  mkdirSync(join(sup, name, 'inside'), { recursive: true });
  writeFileSync(join(sup, name, 'inside', 'keep'), 'planted\n');
};

const PLANTS: Record<string, Plant> = {
  'a folder at control': {
    plant: folder('control'),
    says: /svrun error: supervise\/control was a directory, not a FIFO: moved aside to control\..*\.not-a-fifo$/m,
  },
  'a folder at pid': {
    plant: folder('pid'),
    says: /svrun error: supervise\/pid was a directory, not a regular file: moved aside to pid\..*\.not-a-file$/m,
  },
  'a folder at status.json': {
    plant: folder('status.json'),
    says: /svrun error: supervise\/status\.json was a directory, not a regular file: moved aside to status\.json\..*\.not-a-file$/m,
  },
  'a symlink loop at lock': {
    plant: (sup) => symlinkSync('lock', join(sup, 'lock')),
    says: /svrun error: lock: supervise\/lock was a symlink, not svrun's lock: moved aside to lock\..*\.not-a-lock$/m,
  },
  'a regular file at lock': {
    plant: (sup) => writeFileSync(join(sup, 'lock'), 'planted\n'),
    says: /svrun error: lock: supervise\/lock was a regular file, not svrun's lock: moved aside to lock\..*\.not-a-lock$/m,
  },
  'a lock/owner naming a live process (pid 1)': {
    plant: (sup) => {
      mkdirSync(join(sup, 'lock'));
      writeFileSync(join(sup, 'lock', 'owner'), init());
    },
    says: null,
  },
  'a folder at reaper': {
    plant: folder('reaper'),
    says: /svrun error: reaper: supervise\/reaper was a directory, not a regular file: moved aside to reaper\..*\.not-a-file$/m,
  },
  'a reaper record naming a live process (pid 1)': { plant: (sup) => writeFileSync(join(sup, 'reaper'), init()), says: null },
  'a folder at log-pipe': {
    plant: folder('log-pipe'),
    says: /svrun: error: supervise\/log-pipe was a directory, not a FIFO: moved aside to log-pipe\..*\.not-a-fifo$/m,
    logger: true,
  },
};

/** The service, its folder and what was planted in its supervise/. */
const planted = (what: string): { dir: string; m: string; p: Plant } => {
  const p = PLANTS[what]!;
  const m = sb.marker('web');
  const files: Record<string, string> = { 'timeout-kill': '300' };
  if (p.logger) files['log/run'] = '#!/bin/sh\nexec cat >> ../out.txt\n';
  const dir = sb.service('web', `exec ${m} 1000`, files);
  mkdirSync(join(dir, 'supervise'));
  p.plant(join(dir, 'supervise'));
  return { dir, m, p };
};

/** Where this case's line goes: the service's log, or with a log/run logger, what the logger wrote. */
const logOf = (dir: string, p: Plant): string => {
  if (!p.logger) return sb.log('web');
  try {
    return readFileSync(join(dir, 'out.txt'), 'utf8');
  } catch {
    return '';
  }
};

/** Everything is as svrun keeps it: the FIFO, the files, the lock naming it. */
const putRight = (dir: string, svrunPid: number): void => {
  const sup = join(dir, 'supervise');
  expect(lstatSync(join(sup, 'control')).isFIFO()).toBe(true);
  expect(lstatSync(join(sup, 'status.json')).isFile()).toBe(true);
  expect(lstatSync(join(sup, 'pid')).isFile()).toBe(true);
  expect(readOwner(join(sup, 'lock', 'owner'))?.pid).toBe(svrunPid);
};

describe('planted before svrun starts', () => {
  it.each(Object.keys(PLANTS))('%s: svrun starts the service, says what it moved aside, and stops on SIGTERM', async (what) => {
    const { dir, m, p } = planted(what);
    const sv = sb.svrun([dir]);
    const st = await sb.waitRunning('web', m);
    expect(st.supervisor?.pid).toBe(sv.pid);
    expect(readFileSync(join(dir, 'supervise', 'pid'), 'utf8')).toBe(`${st.pid}\n`);
    putRight(dir, sv.pid!);
    if (p.says)
      await waitFor(
        () => p.says!.test(logOf(dir, p)),
        () => `${p.says} in the log: ${logOf(dir, p)}`,
      );
    expect(logOf(dir, p)).not.toMatch(/E[A-Z]{3,}:/); // never a raw errno
    expect(sv.output()).toBe('');
    sv.kill('SIGTERM');
    expect(await exitOf(sv)).toBe(0);
    expect(pidsByArgv0(m)).toEqual([]);
  });

  it.each(Object.keys(PLANTS))('%s: svctl up brings it up, svctl status shows it up, svctl down stops it', async (what) => {
    const { dir, m, p } = planted(what);
    expect(await sb.svctl(['up', 'web'])).toMatchObject({ code: 0, stderr: '' });
    const st = await sb.waitRunning('web', m);
    const r = await sb.svctl(['status', '--json', 'web']);
    expect(JSON.parse(r.stdout)[0]).toMatchObject({ state: 'up', supervised: true, pid: st.pid });
    if (p.says)
      await waitFor(
        () => p.says!.test(logOf(dir, p)),
        () => `${p.says} in the log: ${logOf(dir, p)}`,
      );
    expect(await sb.svctl(['down', 'web'])).toMatchObject({ code: 0, stderr: '' });
    expect(pidsByArgv0(m)).toEqual([]);
    expect(svrunPids(dir)).toEqual([]);
  });
});

describe('planted while svrun runs', () => {
  const running = async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `exec ${m} 1000`, { 'timeout-kill': '300' });
    const sv = sb.svrun([dir]);
    const st = await sb.waitRunning('web', m);
    return { dir, m, sv, st, sup: join(dir, 'supervise') };
  };

  /** The FIFO swapped for a folder (again, if svrun made a new FIFO between the two steps). */
  const folderForFifo = (sup: string) =>
    waitFor(() => {
      try {
        unlinkSync(join(sup, 'control'));
        folder('control')(sup);
        return true;
      } catch {
        return false;
      }
    }, 'a folder planted at control');

  it('a folder in place of the control FIFO: svrun makes a new FIFO; svctl signal and down reach it', async () => {
    const { dir, m, sup, st } = await running();
    await folderForFifo(sup);
    await sb.waitLog(
      'web',
      /svrun error: supervise\/control was replaced by a directory \(moved aside to control\..*\.not-a-fifo\): a new FIFO made$/m,
    );
    await waitFor(() => lstatSync(join(sup, 'control')).isFIFO(), 'a new control FIFO');
    expect(await sb.svctl(['signal', 'CONT', 'web'])).toMatchObject({ code: 0, stderr: '' });
    expect(await sb.svctl(['down', 'web'])).toMatchObject({ code: 0, stderr: '' });
    expect(pidsByArgv0(m)).toEqual([]);
    expect(st.pid).not.toBeNull();
    expect(svrunPids(dir)).toEqual([]);
  });

  it('svctl down at once after a folder replaced the control FIFO still stops the service', async () => {
    const { dir, m, sup } = await running();
    await folderForFifo(sup);
    expect(await sb.svctl(['down', 'web'])).toMatchObject({ code: 0, stderr: '' });
    expect(pidsByArgv0(m)).toEqual([]);
    expect(svrunPids(dir)).toEqual([]);
  });

  it.each(['pid', 'status.json'])(
    'a folder in place of %s: moved aside, the file written again, status.json true all along',
    async (name) => {
      const { sup, st } = await running();
      // (again, if svrun wrote the file back between the two steps)
      await waitFor(() => {
        try {
          rmSync(join(sup, name), { force: true });
          folder(name)(sup);
          return true;
        } catch {
          return false;
        }
      }, `a folder planted at ${name}`);
      await sb.waitLog(
        'web',
        new RegExp(`svrun error: supervise/${name.replace('.', '\\.')} was a directory, not a regular file: moved aside to `),
      );
      await waitFor(() => lstatSync(join(sup, name)).isFile(), `${name} a file again`);
      expect(readFileSync(join(sup, 'pid'), 'utf8')).toBe(`${st.pid}\n`);
      expect(sb.status('web')).toMatchObject({ state: 'up', pid: st.pid });
      const r = await sb.svctl(['status', '--json', 'web']);
      expect(JSON.parse(r.stdout)[0]).toMatchObject({ state: 'up', supervised: true, pid: st.pid });
    },
  );
});

describe('svctl and a control "FIFO" that is not one', () => {
  /** A supervisor as status.json names it, alive (a sleep of the test's), that never repairs its folder. */
  const fakeSupervised = async () => {
    const m = sb.marker('fake-supervisor');
    const child = spawn(m, ['1000'], { detached: true, stdio: 'ignore', env: sb.env });
    const pid = await waitFor(() => pidsByArgv0(m).find((x) => x === child.pid), 'the fake supervisor');
    const dir = sb.service('web', 'exec sleep 1000');
    const sup = join(dir, 'supervise');
    mkdirSync(join(sup, 'control'), { recursive: true });
    const status = {
      ...blankStatus('web', 'longrun'),
      supervisor: { pid, pidStart: procStat(pid)!.start, startedAt: new Date().toISOString() },
      want: 'up',
      state: 'up',
      since: new Date().toISOString(),
    };
    writeFileSync(join(sup, 'status.json'), JSON.stringify(status));
    return { dir, sup };
  };

  it('svctl signal: one line naming the file, exit 1 (not EISDIR)', async () => {
    const { sup } = await fakeSupervised();
    const r = await sb.svctl(['signal', 'HUP', 'web']);
    expect(r).toMatchObject({
      code: 1,
      stderr: `svctl: web: ${join(sup, 'control')} is a directory, not its supervisor's FIFO: nothing sent; the supervisor makes a new one when it notices, try again\n`,
    });
  });

  it('svctl down: gives up at its deadline saying why, exit 1 (not EISDIR)', async () => {
    const { sup } = await fakeSupervised();
    const r = await sb.svctl(['down', '-t', '300', 'web']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^svctl: web: still up after \\d+ ms \\(supervisor pid \\d+; ${join(sup, 'control')} is a directory, not its FIFO: nothing could be sent\\)\\n$`,
      ),
    );
    expect(readdirSync(join(sup, 'control'))).toEqual([]);
  });
});
