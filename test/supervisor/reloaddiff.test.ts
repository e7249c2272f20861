// The reload diff (src/supervisor/reloaddiff.ts) as a pure function: for each
// setting, a change of it and how a reload puts it in force (live, by a
// restart of the service, or only under a new supervisor); several changes
// at once; what is the same setting written differently.
import { describe, expect, it } from 'vitest';
import { parseListenLine } from '../../src/listen.js';
import type { ServiceDef } from '../../src/servicedir.js';
import { RELOAD_SETTINGS, reloadDiff, type ReloadKind, type Snapshot } from '../../src/supervisor/reloaddiff.js';

const DEF: ServiceDef = {
  name: 'web',
  dir: '/srv/web',
  type: 'longrun',
  requires: ['db', 'cache'],
  down: false,
  run: '/srv/web/run',
  finish: null,
  stop: null,
  check: '/srv/web/check',
  env: { A: '1', B: null },
  notificationFd: null,
  timeoutReadyMs: 10000,
  timeoutKillMs: 7000,
  timeoutFinishMs: 5000,
  downSignal: 'SIGTERM',
  restart: 'always',
  user: null,
  logRun: null,
  logRotation: { maxBytes: 1048576, keep: 10 },
  template: false,
  instance: null,
  healthIntervalMs: null,
  healthRetries: 3,
  healthTimeoutMs: 5000,
  watchdogMs: null,
  limits: { memoryMax: null, cpuMax: null, pidsMax: null, nofile: null },
  listen: [parseListenLine('127.0.0.1:80') as never],
};
const HELD: Snapshot = { def: DEF, files: { run: 'run@1', finish: null, check: 'check@1', logRun: null } };
const withDef = (o: Partial<ServiceDef>): Snapshot => ({ ...HELD, def: { ...DEF, ...o } });
const withFiles = (o: Partial<Snapshot['files']>): Snapshot => ({ ...HELD, files: { ...HELD.files, ...o } });
const limits = (o: Partial<ServiceDef['limits']>) => withDef({ limits: { ...DEF.limits, ...o } });

describe('reloadDiff: each setting changed alone', () => {
  it.each<[string, Snapshot, ReloadKind]>([
    ['type', withDef({ type: 'oneshot' }), 'new-supervisor'],
    ['log/run', withFiles({ logRun: 'logrun@1' }), 'new-supervisor'],
    ['run', withFiles({ run: 'run@2' }), 'restart'],
    ['finish', withFiles({ finish: 'finish@1' }), 'restart'],
    ['check', withFiles({ check: null }), 'restart'],
    ['env', withDef({ env: { A: '2', B: null } }), 'restart'],
    ['user', withDef({ user: 'nobody' }), 'restart'],
    ['nofile', limits({ nofile: 4096 }), 'restart'],
    ['notification-fd', withDef({ notificationFd: 4 }), 'restart'],
    ['listen', withDef({ listen: [parseListenLine('127.0.0.1:81') as never] }), 'restart'],
    ['requires', withDef({ requires: ['db'] }), 'live'],
    ['down-signal', withDef({ downSignal: 'SIGINT' }), 'live'],
    ['timeout-ready', withDef({ timeoutReadyMs: 1 }), 'live'],
    ['timeout-kill', withDef({ timeoutKillMs: 1 }), 'live'],
    ['timeout-finish', withDef({ timeoutFinishMs: 1 }), 'live'],
    ['restart', withDef({ restart: 'never' }), 'live'],
    ['memory-max', limits({ memoryMax: 4096 }), 'live'],
    ['cpu-max', limits({ cpuMax: 50 }), 'live'],
    ['pids-max', limits({ pidsMax: 10 }), 'live'],
    ['health-interval', withDef({ healthIntervalMs: 1000 }), 'live'],
    ['health-retries', withDef({ healthRetries: 1 }), 'live'],
    ['health-timeout', withDef({ healthTimeoutMs: 1 }), 'live'],
    ['watchdog', withDef({ watchdogMs: 1000 }), 'live'],
    ['log/config', withDef({ logRotation: { maxBytes: 4096, keep: 10 } }), 'live'],
  ])('%s -> %s', (file, next, kind) => {
    const d = reloadDiff(HELD, next);
    expect(d).toEqual({
      live: kind === 'live' ? [file] : [],
      restart: kind === 'restart' ? [file] : [],
      newSupervisor: kind === 'new-supervisor' ? [file] : [],
    });
  });

  it('the table names every setting once (the docs list the same)', () => {
    const files = RELOAD_SETTINGS.map(([f]) => f);
    expect(new Set(files).size).toBe(files.length);
    expect(files).toHaveLength(24);
  });
});

describe('reloadDiff: what is and is not a change', () => {
  it('nothing changed: nothing to do', () => {
    expect(reloadDiff(HELD, HELD)).toEqual({ live: [], restart: [], newSupervisor: [] });
  });

  it.each<[string, Snapshot]>([
    ['requires in another order', withDef({ requires: ['cache', 'db'] })],
    ['env/ read in another order', withDef({ env: { B: null, A: '1' } })],
    ['an IPv6 address spelled otherwise', withDef({ listen: [parseListenLine('[::1]:80') as never] })],
  ])('%s', (what, next) => {
    const held = what.startsWith('an IPv6') ? withDef({ listen: [parseListenLine('[0:0::1]:80') as never] }) : HELD;
    expect(reloadDiff(held, next)).toEqual({ live: [], restart: [], newSupervisor: [] });
  });

  it('the dir, name and the down marker are not settings of a running service', () => {
    expect(reloadDiff(HELD, withDef({ down: true }))).toEqual({ live: [], restart: [], newSupervisor: [] });
  });

  it('listen reordered: the fds change, a restart', () => {
    const two = (a: string, b: string) => withDef({ listen: [parseListenLine(a) as never, parseListenLine(b) as never] });
    expect(reloadDiff(two('127.0.0.1:80', '127.0.0.1:81'), two('127.0.0.1:81', '127.0.0.1:80')).restart).toEqual(['listen']);
  });

  it('several at once, each in its list, in the table order', () => {
    const next: Snapshot = {
      def: { ...DEF, timeoutKillMs: 1, downSignal: 'SIGHUP', env: {}, type: 'oneshot' },
      files: { ...HELD.files, run: 'run@2' },
    };
    expect(reloadDiff(HELD, next)).toEqual({ live: ['down-signal', 'timeout-kill'], restart: ['run', 'env'], newSupervisor: ['type'] });
  });
});
