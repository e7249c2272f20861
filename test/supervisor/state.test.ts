// The supervisor state machine (src/supervisor/state.ts) as a pure function: tables of
// event sequences and the state, log lines and effects they must produce
// (SPEC.md "The supervise/ folder" states and "svrun" restarts, stops, events),
// plus a seeded random sweep of invariants.
import { describe, expect, it } from 'vitest';
import type { RestartPolicy } from '../../src/servicedir.js';
import { signalNumber } from '../../src/signals.js';
import { type Command, type Config, type Core, type Effect, type Event, initialCore, step } from '../../src/supervisor/state.js';
import { type State, STATES, type Want } from '../../src/statusfile.js';

const CFG: Config = { restart: 'always', downSignal: 'SIGTERM', timeoutKillMs: 7000, hasFinish: false, readyOnSpawn: true };
const cfgWith = (o: Partial<Config> = {}): Config => ({ ...CFG, ...o });

const boot = (at = 0): Event => ({ type: 'boot', at });
const cmd = (c: Command, at: number): Event => ({ type: 'command', cmd: c, at });
const send = (signal: NodeJS.Signals, at: number): Event => ({ type: 'send', signal, at });
const terminate = (at: number): Event => ({ type: 'terminate', at });
const killNow = (at: number): Event => ({ type: 'kill-now', at });
const spawned = (pid: number, at: number): Event => ({ type: 'spawned', pid, pidStart: 5000 + pid, at });
const spawnFailed = (error: string, at: number): Event => ({ type: 'spawn-failed', error, at });
const ready = (at: number): Event => ({ type: 'ready', at });
const exited = (code: number | null, signal: NodeJS.Signals | null, at: number, groupEmpty = true): Event => ({
  type: 'exited',
  code,
  signal,
  groupEmpty,
  at,
});
const groupEmpty = (at: number): Event => ({ type: 'group-empty', at });
const killTimeout = (at: number): Event => ({ type: 'kill-timeout', at });
const finishDone = (code: number | null, at: number): Event => ({ type: 'finish-done', code, at });
const backoffDone = (at: number): Event => ({ type: 'backoff-done', at });
const errorEv = (error: string, at: number): Event => ({ type: 'error', error, at });

const logsOf = (fx: Effect[]): string[] => fx.flatMap((e) => (e.type === 'log' ? [e.text] : []));
const actionsOf = (fx: Effect[]): Effect[] => fx.filter((e) => e.type !== 'log');
const count = (fx: Effect[], type: Effect['type']) => fx.filter((e) => e.type === type).length;
const signalsOf = (fx: Effect[]): string[] => fx.flatMap((e) => (e.type === 'signal-group' ? [e.signal] : []));

/** Feeds events to step() and keeps every effect, and those of the last event apart. */
class Machine {
  core: Core;
  all: Effect[] = [];
  last: Effect[] = [];
  constructor(
    readonly cfg: Config = CFG,
    want: Want = 'up',
    at = 0,
  ) {
    this.core = initialCore(want, at);
  }
  feed(...events: Event[]): this {
    for (const e of events) {
      const r = step(this.core, e, this.cfg, signalNumber);
      this.core = r.core;
      this.last = r.effects;
      this.all.push(...r.effects);
    }
    return this;
  }
  get logs(): string[] {
    return logsOf(this.last);
  }
  get allLogs(): string[] {
    return logsOf(this.all);
  }
}

/** A machine in `state`: booted at 0, pid 100 spawned at 0 (ready at once unless `starting`). */
const reach = (state: State, o: Partial<Config> = {}): Machine => {
  switch (state) {
    case 'down':
      return new Machine(cfgWith(o), 'down').feed(boot(0));
    case 'starting':
      return new Machine(cfgWith({ ...o, readyOnSpawn: false })).feed(boot(0), spawned(100, 0));
    case 'up':
      return new Machine(cfgWith(o)).feed(boot(0), spawned(100, 0));
    case 'stopping':
      return reach('up', o).feed(cmd('d', 1000));
    case 'finishing':
      return new Machine(cfgWith({ ...o, hasFinish: true })).feed(boot(0), spawned(100, 0), exited(1, null, 1000));
    case 'backoff':
      // first short run: immediate restart; second short run: 100 ms
      return reach('up', o).feed(exited(1, null, 1000), spawned(101, 1000), exited(1, null, 2000));
    case 'failed':
      return new Machine(cfgWith({ ...o, restart: 'never' })).feed(boot(0), spawned(100, 0), exited(1, null, 1000));
    default:
      throw new Error(state);
  }
};

describe('state: reach() builds each state', () => {
  it.each(STATES.map((s) => [s]))('%s', (s) => {
    expect(reach(s).core.state).toBe(s);
  });
});

describe('state: boot', () => {
  it.each<[Want, Effect[]]>([
    ['up', [{ type: 'spawn' }]],
    ['once', [{ type: 'spawn' }]],
    ['down', []],
  ])('want %s -> %j', (want, effects) => {
    const m = new Machine(CFG, want, 0).feed(boot(5));
    expect(m.last).toEqual(effects);
    // a spawn under way is already "starting" (status.json never shows a stale state meanwhile)
    expect(m.core.state).toBe(want === 'down' ? 'down' : 'starting');
    expect(m.core.want).toBe(want);
  });
});

describe('state: spawned', () => {
  it.each<[boolean, State, string[], number | null, number]>([
    [true, 'up', ['started pid 42', 'ready'], 250, 250],
    [false, 'starting', ['started pid 42'], null, 0],
  ])('readyOnSpawn %s -> %s, logs %j', (readyOnSpawn, state, logs, readyAt, since) => {
    const m = new Machine(cfgWith({ readyOnSpawn })).feed(boot(0), spawned(42, 250));
    expect(m.core).toMatchObject({ state, since, pid: 42, pgid: 42, pidStart: 5042, startedAt: 250, readyAt, lastError: null });
    expect(m.logs).toEqual(logs);
    expect(actionsOf(m.last)).toEqual([]);
  });

  it('starting -> up on ready, with log "ready"; a second ready is ignored', () => {
    const m = reach('starting').feed(ready(300));
    expect(m.core).toMatchObject({ state: 'up', since: 300, readyAt: 300 });
    expect(m.logs).toEqual(['ready']);
    m.feed(ready(400));
    expect(m.core).toMatchObject({ state: 'up', since: 300, readyAt: 300 });
    expect(m.last).toEqual([]);
  });

  it.each<[State]>([['stopping'], ['finishing'], ['backoff'], ['down'], ['failed']])('ready is ignored in %s', (s) => {
    const m = reach(s);
    const before = m.core;
    m.feed(ready(5000));
    expect(m.core).toEqual(before);
    expect(m.last).toEqual([]);
  });

  it('spawned clears the last error', () => {
    const m = new Machine().feed(boot(0), spawnFailed('run: EACCES', 0));
    expect(m.core.lastError).toBe('run: EACCES');
    m.feed(backoffDone(100), spawned(7, 100));
    expect(m.core.lastError).toBeNull();
  });
});

describe('state: exited', () => {
  it.each<[string, number | null, NodeJS.Signals | null, string]>([
    ['code 0', 0, null, 'exited 0'],
    ['code 1', 1, null, 'exited 1'],
    ['code 255', 255, null, 'exited 255'],
    ['SIGKILL', null, 'SIGKILL', 'killed by SIGKILL'],
    ['SIGSEGV', null, 'SIGSEGV', 'killed by SIGSEGV'],
  ])('%s is logged and recorded (group empty)', (_d, code, signal, text) => {
    const m = reach('up').feed(exited(code, signal, 1500));
    expect(m.logs[0]).toBe(text);
    expect(m.core).toMatchObject({ pid: null, pidStart: null, lastExit: { code, signal, at: new Date(1500).toISOString(), reason: null } });
  });

  it('an OOM kill is named in the log and in lastExit.reason, then the restart policy applies as to any exit', () => {
    const m = reach('up').feed({ type: 'exited', code: null, signal: 'SIGKILL', groupEmpty: true, at: 1500, reason: 'oom' });
    expect(m.logs).toEqual(['killed by SIGKILL (out of memory)', 'restarting in 0 ms']);
    expect(m.core.lastExit).toEqual({ code: null, signal: 'SIGKILL', at: new Date(1500).toISOString(), reason: 'oom' });
    expect(count(m.last, 'spawn')).toBe(1);
    // the next run's exit is its own: no reason carried over
    m.feed(spawned(8, 1600), exited(1, null, 1700));
    expect(m.core.lastExit?.reason).toBeNull();
  });

  it.each<[string, Partial<Config>, string[]]>([
    ['timeout-kill 7000', {}, ['SIGTERM', 'SIGCONT']],
    ['down-signal HUP', { downSignal: 'SIGHUP' }, ['SIGHUP', 'SIGCONT']],
  ])('group not empty (%s): stopping what is left, then restart once the group is empty', (_d, o, signals) => {
    const cfg = cfgWith(o);
    const m = reach('up', o).feed(exited(1, null, 1000, false));
    // the pid stays on record while its group is being stopped: a new supervisor finds leftovers by it
    expect(m.core).toMatchObject({ state: 'stopping', since: 1000, pid: 100, pgid: 100, mainAlive: false });
    expect(m.logs).toEqual(['exited 1', `stopping: ${cfg.downSignal}`]);
    expect(signalsOf(m.last)).toEqual(signals);
    expect(m.last).toContainEqual({ type: 'timer', name: 'kill', ms: 7000 });
    expect(m.last).toContainEqual({ type: 'watch-group' });
    expect(count(m.last, 'spawn')).toBe(0);
    m.feed(groupEmpty(1100));
    expect(m.last).toContainEqual({ type: 'cancel-timer', name: 'kill' });
    expect(m.core.pid).toBeNull();
    expect(m.logs).toEqual(['restarting in 0 ms']);
    expect(count(m.last, 'spawn')).toBe(1);
  });

  it('group-empty is ignored while the main process still runs', () => {
    const m = reach('stopping');
    const before = m.core;
    m.feed(groupEmpty(1100));
    expect(m.core).toEqual(before);
    expect(m.last).toEqual([]);
  });

  it.each<[State]>([['up'], ['down'], ['backoff'], ['failed']])('group-empty is ignored in %s', (s) => {
    const m = reach(s);
    const before = m.core;
    m.feed(groupEmpty(9000));
    expect(m.core).toEqual(before);
    expect(m.last).toEqual([]);
  });
});

describe('state: restart policies and end states (SPEC: down after a clean exit not restarted, failed otherwise)', () => {
  type Exit = 'exit 0' | 'exit 1' | 'SIGKILL';
  type Outcome = 'restart' | 'down' | 'failed';
  const exits: Record<Exit, [number | null, NodeJS.Signals | null, string]> = {
    'exit 0': [0, null, 'exited 0'],
    'exit 1': [1, null, 'exited 1'],
    SIGKILL: [null, 'SIGKILL', 'killed by SIGKILL'],
  };
  const cases: [RestartPolicy, Want, Exit, Outcome][] = [
    ['always', 'up', 'exit 0', 'restart'],
    ['always', 'up', 'exit 1', 'restart'],
    ['always', 'up', 'SIGKILL', 'restart'],
    ['on-failure', 'up', 'exit 0', 'down'],
    ['on-failure', 'up', 'exit 1', 'restart'],
    ['on-failure', 'up', 'SIGKILL', 'restart'],
    ['never', 'up', 'exit 0', 'down'],
    ['never', 'up', 'exit 1', 'failed'],
    ['never', 'up', 'SIGKILL', 'failed'],
    ['always', 'once', 'exit 0', 'down'],
    ['always', 'once', 'exit 1', 'failed'],
    ['always', 'once', 'SIGKILL', 'failed'],
    ['on-failure', 'once', 'exit 1', 'failed'],
    ['never', 'once', 'exit 0', 'down'],
    ['never', 'once', 'SIGKILL', 'failed'],
  ];
  it.each(cases)('restart %s, want %s, %s -> %s', (restart, want, exit, outcome) => {
    const [code, signal, exitLog] = exits[exit];
    const m = new Machine(cfgWith({ restart }), want).feed(boot(0), spawned(100, 0), exited(code, signal, 500));
    if (outcome === 'restart') {
      expect(m.logs).toEqual([exitLog, 'restarting in 0 ms']);
      expect(m.last).toContainEqual({ type: 'spawn' });
      expect(m.core.restarts).toBe(1);
      expect(m.core.nextStartAt).toBeNull();
      m.feed(spawned(101, 510));
      expect(m.core).toMatchObject({ state: 'up', pid: 101, since: 510 });
    } else {
      expect(m.logs).toEqual([exitLog, outcome]);
      expect(count(m.last, 'spawn')).toBe(0);
      expect(count(m.last, 'exit')).toBe(0);
      expect(m.core).toMatchObject({ state: outcome, since: 500, restarts: 0, want, pid: null });
    }
  });

  it('o while up: the run is not restarted after it ends, even with restart always', () => {
    const m = reach('up').feed(cmd('o', 100));
    expect(m.core.want).toBe('once');
    expect(count(m.last, 'spawn')).toBe(0);
    m.feed(exited(1, null, 500));
    expect(m.core.state).toBe('failed');
    expect(count(m.last, 'spawn')).toBe(0);
  });
});

describe('state: backoff (SPEC: first restart immediate, then 100 ms doubling to 30 s; a run of 10 s resets)', () => {
  /** Runs of the given lengths, each ending in exit 1; returns the logged restart delays. */
  const crashLoop = (runs: number[]) => {
    const m = new Machine().feed(boot(0));
    let t = 0;
    let pid = 100;
    const delays: number[] = [];
    for (const runMs of runs) {
      expect(m.last).toContainEqual({ type: 'spawn' });
      m.feed(spawned(pid++, t));
      t += runMs;
      m.feed(exited(1, null, t));
      const line = m.logs.find((l) => l.startsWith('restarting in '));
      expect(line).toMatch(/^restarting in \d+ ms$/);
      const delay = Number(/\d+/.exec(line!)![0]);
      delays.push(delay);
      if (delay === 0) {
        expect(m.last).toContainEqual({ type: 'spawn' });
        expect(m.core.nextStartAt).toBeNull();
      } else {
        expect(m.core).toMatchObject({ state: 'backoff', since: t, nextStartAt: t + delay });
        expect(m.last).toContainEqual({ type: 'timer', name: 'backoff', ms: delay });
        expect(count(m.last, 'spawn')).toBe(0);
        t += delay;
        m.feed(backoffDone(t));
        expect(m.core.nextStartAt).toBeNull();
      }
    }
    return { delays, m };
  };

  it.each<[string, number[], number[]]>([
    ['14 runs of 1 s', Array(14).fill(1000), [0, 100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000, 30000, 30000]],
    ['a run of 10 s resets', [1000, 1000, 1000, 10000, 1000, 1000], [0, 100, 200, 0, 100, 200]],
    ['a run of 9.999 s does not', [1000, 1000, 9999, 1000], [0, 100, 200, 400]],
    ['long runs always restart at once', [20000, 20000, 20000], [0, 0, 0]],
    ['first run short, second long', [1000, 60000, 1000, 1000], [0, 0, 100, 200]],
    ['instant crashes', [0, 0, 0, 0], [0, 100, 200, 400]],
  ])('%s', (_d, runs, expected) => {
    const { delays, m } = crashLoop(runs);
    expect(delays).toEqual(expected);
    expect(m.core.restarts).toBe(runs.length);
  });

  it('backoff-done spawns only in backoff', () => {
    const m = reach('up');
    m.feed(backoffDone(500));
    expect(m.last).toEqual([]);
    const b = reach('backoff');
    b.feed(backoffDone(2100));
    expect(b.last).toEqual([{ type: 'spawn' }]);
  });
});

describe('state: finish', () => {
  const F = { hasFinish: true } as const;
  it.each<[string, number | null, NodeJS.Signals | null, number, number]>([
    ['exit 0', 0, null, 0, 0],
    ['exit 3', 3, null, 3, 0],
    ['exit 255', 255, null, 255, 0],
    ['SIGKILL', null, 'SIGKILL', -1, 9],
    ['SIGTERM', null, 'SIGTERM', -1, 15],
    ['SIGSEGV', null, 'SIGSEGV', -1, 11],
  ])('after %s: run-finish (%i, %i), state finishing, no restart yet', (_d, code, signal, fcode, fsigno) => {
    const m = reach('up', F).feed(exited(code, signal, 800));
    expect(m.last).toContainEqual({ type: 'run-finish', code: fcode, signo: fsigno });
    expect(m.core).toMatchObject({ state: 'finishing', since: 800 });
    expect(count(m.last, 'spawn')).toBe(0);
  });

  it('after a leftover group: finish only once the group is empty', () => {
    const m = reach('up', F).feed(exited(2, null, 800, false));
    expect(count(m.last, 'run-finish')).toBe(0);
    m.feed(groupEmpty(900));
    expect(m.last).toContainEqual({ type: 'run-finish', code: 2, signo: 0 });
    expect(m.core.state).toBe('finishing');
  });

  it.each<[RestartPolicy, number, number | null, 'restart' | 'down' | 'failed']>([
    ['always', 1, 0, 'restart'],
    ['always', 1, 1, 'restart'],
    ['always', 1, null, 'restart'],
    ['always', 1, 125, 'failed'],
    ['always', 0, 125, 'failed'],
    ['on-failure', 0, 0, 'down'],
    ['on-failure', 1, 125, 'failed'],
    ['never', 0, 0, 'down'],
    ['never', 1, 7, 'failed'],
  ])('restart %s, exit %i, finish exits %s -> %s', (restart, code, fcode, outcome) => {
    const m = reach('up', { ...F, restart }).feed(exited(code, null, 800), finishDone(fcode, 900));
    if (outcome === 'restart') {
      expect(m.logs).toEqual(['restarting in 0 ms']);
      expect(m.last).toContainEqual({ type: 'spawn' });
    } else {
      expect(m.logs).toEqual([outcome]);
      expect(count(m.last, 'spawn')).toBe(0);
      expect(m.core).toMatchObject({ state: outcome, since: 900 });
    }
  });

  it('finish 125: failed, no restart, and u starts it again', () => {
    const m = reach('up', F).feed(exited(1, null, 800), finishDone(125, 900));
    expect(m.core.state).toBe('failed');
    m.feed(backoffDone(1000));
    expect(m.last).toEqual([]);
    m.feed(cmd('u', 2000));
    expect(m.last).toEqual([{ type: 'spawn' }]);
    m.feed(spawned(200, 2000), exited(1, null, 2500), finishDone(0, 2600));
    expect(m.logs).toEqual(['restarting in 0 ms']);
  });

  it('finish runs after a stop request too, then down', () => {
    const m = reach('stopping', F).feed(exited(null, 'SIGTERM', 1100));
    expect(m.last).toContainEqual({ type: 'run-finish', code: -1, signo: 15 });
    expect(m.core.state).toBe('finishing');
    m.feed(finishDone(0, 1200));
    expect(m.core).toMatchObject({ state: 'down', want: 'down' });
    expect(m.logs).toEqual(['down']);
  });

  it('finish-done outside finishing is ignored', () => {
    const m = reach('up', F);
    const before = m.core;
    m.feed(finishDone(125, 500));
    expect(m.core).toEqual(before);
    expect(m.last).toEqual([]);
  });
});

describe('state: commands u and o', () => {
  it.each<[State, Command, boolean]>([
    ['down', 'u', true],
    ['failed', 'u', true],
    ['up', 'u', false],
    ['starting', 'u', false],
    ['backoff', 'u', false],
    ['finishing', 'u', false],
    ['down', 'o', true],
    ['failed', 'o', true],
    ['up', 'o', false],
    ['backoff', 'o', false],
  ])('%s + %s -> spawn: %s', (s, c, spawns) => {
    const m = reach(s).feed(cmd(c, 5000));
    expect(m.core.want).toBe(c === 'u' ? 'up' : 'once');
    expect(count(m.last, 'spawn')).toBe(spawns ? 1 : 0);
    expect(m.core.state).toBe(spawns ? 'starting' : s);
  });

  it('d then u from backoff starts the backoff sequence again', () => {
    const m = new Machine(cfgWith({ restart: 'on-failure' }));
    m.feed(boot(0), spawned(1, 0), exited(1, null, 10), spawned(2, 10), exited(1, null, 20));
    expect(m.core.state).toBe('backoff');
    m.feed(cmd('d', 30), cmd('u', 40));
    expect(m.last).toEqual([{ type: 'spawn' }]);
    m.feed(spawned(3, 40), exited(1, null, 50));
    expect(m.logs).toEqual(['exited 1', 'restarting in 0 ms']);
  });
});

describe('state: command d', () => {
  const STOP: Effect[] = [
    { type: 'signal-group', signal: 'SIGTERM' },
    { type: 'signal-group', signal: 'SIGCONT' },
    { type: 'timer', name: 'kill', ms: 7000 },
    { type: 'watch-group' },
  ];
  it.each<[State, State, string[], Effect[]]>([
    ['down', 'down', [], []],
    ['starting', 'stopping', ['stopping: SIGTERM'], STOP],
    ['up', 'stopping', ['stopping: SIGTERM'], STOP],
    ['stopping', 'stopping', [], []],
    ['finishing', 'finishing', [], []],
    ['backoff', 'down', ['down'], [{ type: 'cancel-timer', name: 'backoff' }]],
    ['failed', 'down', ['down'], []],
  ])('%s -> %s, logs %j', (from, to, logs, actions) => {
    const m = reach(from).feed(cmd('d', 5000));
    expect(m.core.want).toBe('down');
    expect(m.core.state).toBe(to);
    expect(m.logs).toEqual(logs);
    expect(actionsOf(m.last)).toEqual(actions);
    if (to === 'stopping' && from !== 'stopping') {
      expect(m.core).toMatchObject({ since: 5000, stopRequested: true, stopSentAt: 5000 });
    }
    expect(count(m.last, 'exit')).toBe(0);
  });

  it('d while backoff cancels the timer; a late backoff-done does not spawn', () => {
    const m = reach('backoff').feed(cmd('d', 2050));
    expect(m.core).toMatchObject({ state: 'down', since: 2050, nextStartAt: null });
    m.feed(backoffDone(2100));
    expect(m.last).toEqual([]);
    expect(m.core.state).toBe('down');
  });

  it.each<[NodeJS.Signals]>([['SIGTERM'], ['SIGINT'], ['SIGQUIT'], ['SIGHUP'], ['SIGUSR1'], ['SIGUSR2']])(
    'd during up with down-signal %s: the signal then SIGCONT to the group',
    (sig) => {
      const m = reach('up', { downSignal: sig }).feed(cmd('d', 1000));
      expect(m.logs).toEqual([`stopping: ${sig}`]);
      expect(signalsOf(m.last)).toEqual([sig, 'SIGCONT']);
      expect(m.last).toContainEqual({ type: 'watch-group' });
    },
  );

  it.each<[number, boolean]>([
    [7000, true],
    [250, true],
    [1, true],
    [0, false],
  ])('timeout-kill %i: kill timer armed %s', (ms, armed) => {
    const m = reach('up', { timeoutKillMs: ms }).feed(cmd('d', 1000));
    const timers = m.last.filter((e) => e.type === 'timer');
    expect(timers).toEqual(armed ? [{ type: 'timer', name: 'kill', ms }] : []);
  });

  it('exit after d: down, kill timer cancelled, not restarted', () => {
    const m = reach('stopping').feed(exited(null, 'SIGTERM', 1200));
    expect(m.core).toMatchObject({ state: 'down', since: 1200, want: 'down', pid: null, restarts: 0 });
    expect(m.logs).toEqual(['killed by SIGTERM', 'down']);
    expect(m.last).toContainEqual({ type: 'cancel-timer', name: 'kill' });
    expect(count(m.last, 'spawn')).toBe(0);
  });

  it('main process gone but group not: no second down-signal; down once the group is empty', () => {
    const m = reach('stopping').feed(exited(0, null, 1200, false));
    expect(m.core.state).toBe('stopping');
    expect(signalsOf(m.last)).toEqual([]);
    expect(m.logs).toEqual(['exited 0']);
    m.feed(groupEmpty(1300));
    expect(m.core.state).toBe('down');
    expect(m.logs).toEqual(['down']);
  });

  it.each<[number, number, string]>([
    [7000, 8000, 'killed after 7000 ms'],
    [250, 1250, 'killed after 250 ms'],
  ])('kill-timeout (timeout-kill %i): kill-group and "%s"', (ms, at, text) => {
    const m = reach('up', { timeoutKillMs: ms }).feed(cmd('d', 1000), killTimeout(at));
    expect(m.logs).toEqual([text]);
    expect(m.last).toContainEqual({ type: 'kill-group' });
    m.feed(exited(null, 'SIGKILL', at + 5));
    expect(m.core.state).toBe('down');
    expect(m.logs).toEqual(['killed by SIGKILL', 'down']);
  });

  it.each<[State]>([['up'], ['starting'], ['down'], ['backoff'], ['failed'], ['finishing']])('kill-timeout is ignored in %s', (s) => {
    const m = reach(s).feed(killTimeout(9000));
    expect(m.last).toEqual([]);
  });

  it('kill-now while stopping: kill-group at once, logging the time since the down-signal', () => {
    const m = reach('stopping').feed(killNow(2234));
    expect(m.logs).toEqual(['killed after 1234 ms']);
    expect(m.last).toContainEqual({ type: 'cancel-timer', name: 'kill' });
    expect(m.last).toContainEqual({ type: 'kill-group' });
  });

  it.each<[State]>([['up'], ['down'], ['backoff']])('kill-now is ignored in %s', (s) => {
    expect(reach(s).feed(killNow(9000)).last).toEqual([]);
  });

  it('d during starting, then ready is ignored and the exit ends down', () => {
    const m = reach('starting').feed(cmd('d', 100), ready(150), exited(null, 'SIGTERM', 200));
    expect(m.core.state).toBe('down');
    expect(m.core.readyAt).toBeNull();
  });
});

describe('state: d then u during a stop restarts fresh', () => {
  it.each<[string, Partial<Config>, Event[]]>([
    ['stopping', {}, [exited(null, 'SIGTERM', 1200)]],
    ['stopping (group left)', {}, [exited(null, 'SIGTERM', 1200, false), groupEmpty(1250)]],
    ['finishing', { hasFinish: true }, [exited(null, 'SIGTERM', 1200), finishDone(0, 1250)]],
    ['finishing, finish 125', { hasFinish: true }, [exited(null, 'SIGTERM', 1200), finishDone(125, 1250)]],
  ])('%s', (_d, o, ends) => {
    // a crash loop first, so that a restart would have waited
    const m = new Machine(cfgWith(o)).feed(boot(0), spawned(1, 0));
    if (!o.hasFinish) m.feed(exited(1, null, 10), spawned(2, 10), exited(1, null, 20), backoffDone(120), spawned(3, 120));
    const restarts = m.core.restarts;
    m.feed(cmd('d', 1000), cmd('u', 1100));
    expect(m.core.want).toBe('up');
    expect(count(m.last, 'spawn')).toBe(0);
    m.feed(...ends);
    expect(m.last).toContainEqual({ type: 'spawn' });
    expect(m.logs.filter((l) => l.startsWith('restarting'))).toEqual([]);
    expect(m.core.restarts).toBe(restarts);
    m.feed(spawned(50, 1300));
    expect(m.core).toMatchObject({ state: 'up', stopRequested: false, stopSentAt: null, pid: 50 });
    // fresh: the next short run restarts at once
    m.feed(exited(1, null, 1400), ...(o.hasFinish ? [finishDone(0, 1450)] : []));
    expect(m.logs).toContain('restarting in 0 ms');
  });
});

describe('state: terminate and x (exit once down)', () => {
  /** Carries a stop to its end as the interpreter would. */
  const finishStop = (m: Machine, at: number) => {
    for (let i = 0; i < 3; i++) {
      if (m.core.state === 'stopping') m.feed(exited(null, 'SIGTERM', at + i));
      else if (m.core.state === 'finishing') m.feed(finishDone(0, at + i));
    }
  };
  const starts: [State, Partial<Config>][] = [
    ['down', {}],
    ['starting', {}],
    ['up', {}],
    ['up', { hasFinish: true }],
    ['stopping', {}],
    ['finishing', {}],
    ['backoff', {}],
    ['failed', {}],
  ];
  for (const how of ['terminate', 'x'] as const) {
    it.each(starts)(`${how} in %s %j: one exit effect, once down`, (s, o) => {
      const m = reach(s, o);
      const spawnsBefore = count(m.all, 'spawn');
      const exitsBefore = count(m.all, 'exit');
      m.feed(how === 'x' ? cmd('x', 5000) : terminate(5000));
      expect(m.core).toMatchObject({ want: 'down', exiting: true });
      finishStop(m, 5100);
      expect(count(m.all, 'exit') - exitsBefore).toBe(1);
      expect(m.last.at(-1)).toEqual({ type: 'exit', code: 0 });
      expect(m.core.state).toBe('down');
      if (s !== 'down') expect(m.allLogs.at(-1)).toBe('down');
      expect(count(m.all, 'spawn')).toBe(spawnsBefore);
    });
  }

  it('terminate while up: no exit effect before the service is down', () => {
    const m = reach('up').feed(terminate(1000));
    expect(m.core.state).toBe('stopping');
    expect(count(m.last, 'exit')).toBe(0);
    m.feed(killTimeout(8000));
    expect(count(m.last, 'exit')).toBe(0);
    m.feed(exited(null, 'SIGKILL', 8010, false));
    expect(count(m.last, 'exit')).toBe(0);
    m.feed(groupEmpty(8030));
    expect(m.last.filter((e) => e.type === 'exit')).toEqual([{ type: 'exit', code: 0 }]);
  });

  // BUG (reported): SPEC.md "svrun": SIGTERM to svrun stops the service and exits 0.
  // A `u` that arrives while that stop is in progress turns `want` back to up and
  // decide() then restarts the service instead of settling down and exiting.
  it('terminate, then u while stopping: still ends down and exits (SIGTERM to svrun is final)', () => {
    const m = reach('up').feed(terminate(1000), cmd('u', 1100), exited(null, 'SIGTERM', 1200));
    expect(count(m.last, 'spawn')).toBe(0);
    expect(m.core.state).toBe('down');
    expect(m.last).toContainEqual({ type: 'exit', code: 0 });
  });
});

describe('state: spawn-failed (retried with backoff whatever the policy)', () => {
  it.each<[RestartPolicy, Want]>([
    ['always', 'up'],
    ['on-failure', 'up'],
    ['never', 'up'],
    ['never', 'once'],
    ['always', 'once'],
  ])('restart %s, want %s: backoff 100, 200, 400 ms', (restart, want) => {
    const m = new Machine(cfgWith({ restart }), want).feed(boot(0));
    let t = 0;
    for (const delay of [100, 200, 400]) {
      m.feed(spawnFailed('run: EACCES: permission denied', t));
      expect(m.logs).toEqual(['error: run: EACCES: permission denied', `restarting in ${delay} ms`]);
      expect(m.core).toMatchObject({ state: 'backoff', lastError: 'run: EACCES: permission denied', nextStartAt: t + delay });
      expect(m.last).toContainEqual({ type: 'timer', name: 'backoff', ms: delay });
      t += delay;
      m.feed(backoffDone(t));
      expect(m.last).toEqual([{ type: 'spawn' }]);
    }
    expect(m.core.restarts).toBe(3);
    m.feed(spawned(9, t));
    expect(m.core).toMatchObject({ state: 'up', lastError: null });
  });

  it('spawn-failed with want down: down, no retry', () => {
    const m = new Machine(CFG, 'down').feed(spawnFailed('run: ENOENT', 10));
    expect(m.core.state).toBe('down');
    expect(m.logs).toEqual(['error: run: ENOENT', 'down']);
    expect(actionsOf(m.last)).toEqual([]);
  });

  it('spawned while want is down: stopped at once', () => {
    const m = new Machine(CFG, 'down').feed(spawned(5, 10));
    expect(m.core.state).toBe('stopping');
    expect(signalsOf(m.last)).toEqual(['SIGTERM', 'SIGCONT']);
  });
});

describe('state: send and error', () => {
  it.each<[State, boolean]>([
    ['starting', true],
    ['up', true],
    ['stopping', true],
    ['finishing', false],
    ['backoff', false],
    ['down', false],
    ['failed', false],
  ])('send SIGHUP in %s -> signals the group: %s', (s, signals) => {
    const m = reach(s).feed(send('SIGHUP', 9000));
    expect(m.last).toEqual(signals ? [{ type: 'signal-group', signal: 'SIGHUP' }] : []);
  });

  it('send before anything ever ran does nothing', () => {
    expect(new Machine().feed(send('SIGUSR1', 1)).last).toEqual([]);
  });

  it.each<[State]>([['up'], ['down'], ['backoff']])('error in %s: logged and recorded, state unchanged', (s) => {
    const m = reach(s);
    const { state, since } = m.core;
    m.feed(errorEv('status: ENOSPC', 9000));
    expect(m.logs).toEqual(['error: status: ENOSPC']);
    expect(actionsOf(m.last)).toEqual([]);
    expect(m.core).toMatchObject({ state, since, lastError: 'status: ENOSPC' });
  });
});

describe('state: invariants over random event sequences', () => {
  /** mulberry32: a small seeded PRNG, so a failure replays. */
  const prng = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  const sweep = (seed: number, steps: number) => {
    const rnd = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const pickCfg = (): Config => ({
      restart: pick(['always', 'on-failure', 'never'] as const),
      downSignal: pick(['SIGTERM', 'SIGINT', 'SIGHUP'] as const),
      timeoutKillMs: pick([0, 7000]),
      hasFinish: rnd() < 0.5,
      readyOnSpawn: rnd() < 0.5,
    });
    let cfg = pickCfg();
    let core = initialCore(pick(['up', 'down', 'once'] as const), 0);
    let at = 0;
    let pid = 100;
    let expected: Event['type'][] = ['boot'];
    const seen = new Set<State>();
    for (let i = 0; i < steps; i++) {
      at += Math.floor(rnd() * 12000);
      // mostly what the interpreter would report next, sometimes anything at all
      const type: Event['type'] =
        expected.length > 0 && rnd() < 0.7
          ? pick(expected)
          : pick(['boot', 'command', 'send', 'terminate', 'kill-now', 'spawned', 'spawn-failed', 'ready', 'exited', 'group-empty', 'kill-timeout', 'finish-done', 'backoff-done', 'error'] as const);
      let event: Event;
      switch (type) {
        case 'command':
          event = { type, cmd: pick(['u', 'd', 'o', 'x'] as const), at };
          break;
        case 'send':
          event = { type, signal: pick(['SIGHUP', 'SIGUSR1', 'SIGSTOP'] as const), at };
          break;
        case 'spawned':
          event = { type, pid: pid++, pidStart: rnd() < 0.1 ? null : 1000 + pid, at };
          break;
        case 'spawn-failed':
        case 'error':
          event = { type, error: 'EIO', at };
          break;
        case 'exited':
          event = rnd() < 0.3
            ? { type, code: null, signal: pick(['SIGKILL', 'SIGTERM', 'SIGSEGV'] as const), groupEmpty: rnd() < 0.7, at }
            : { type, code: pick([0, 1, 2, 125, 255]), signal: null, groupEmpty: rnd() < 0.7, at };
          break;
        case 'finish-done':
          event = { type, code: pick([0, 1, 125, null]), at };
          break;
        default:
          event = { type, at } as Event;
      }
      const prev = core;
      let r: ReturnType<typeof step>;
      try {
        r = step(prev, event, cfg, signalNumber);
      } catch (err) {
        throw new Error(`seed ${seed} step ${i}: ${JSON.stringify(event)} threw ${String(err)}`);
      }
      core = r.core;
      // plain checks (expect() per step would make the sweep slow); the message replays the step
      const check = (ok: boolean, what: string) => {
        if (!ok) throw new Error(`seed ${seed} step ${i} ${JSON.stringify(event)} ${prev.state}->${core.state}: ${what}`);
      };
      seen.add(core.state);
      check(STATES.includes(core.state), 'state is one of the 7');
      // since moves only with the state. A new run (spawned) may pass through
      // starting within its step, so after an immediate restart up -> up
      // since is the new run's start, while starting -> starting keeps it.
      if (core.state !== prev.state) check(core.since === at, 'since = event time on a state change');
      else if (event.type === 'spawned') check(core.since === prev.since || core.since === at, 'since on spawned');
      else check(core.since === prev.since, 'since unchanged without a state change');
      for (const fx of r.effects) {
        if (fx.type === 'exit') {
          check(core.state === 'down' || core.state === 'failed', 'exit only when down or failed');
          check(core.exiting, 'exit only when exiting');
          check(fx.code === 0, 'exit code 0');
        }
      }
      check(prev !== core, 'a new core each step');
      // what a real interpreter would report next
      const next: Event['type'][] = [];
      for (const fx of r.effects) {
        if (fx.type === 'spawn') next.push('spawned', 'spawned', 'spawned', 'spawn-failed');
        if (fx.type === 'timer') next.push(fx.name === 'kill' ? 'kill-timeout' : 'backoff-done');
        if (fx.type === 'watch-group') next.push('group-empty');
        if (fx.type === 'run-finish') next.push('finish-done');
      }
      if (core.state === 'starting') next.push('ready', 'exited');
      if (core.state === 'up') next.push('exited', 'command', 'send');
      if (core.state === 'stopping') next.push(core.pid === null ? 'group-empty' : 'exited', 'kill-timeout');
      if (core.state === 'down' || core.state === 'failed') next.push('command');
      if (r.effects.some((e) => e.type === 'exit')) {
        // the supervisor is gone: start over, maybe with another service definition
        core = initialCore(pick(['up', 'down', 'once'] as const), at);
        cfg = pickCfg();
        next.splice(0, next.length, 'boot');
      }
      expected = next.length > 0 ? next : expected;
    }
    return seen;
  };

  const seeds = [1, 2, 3, 42, 1234, 99991];
  const visited = new Set<State>();
  it.each(seeds.map((s) => [s]))('seed %i, 2000 steps', (seed) => {
    const seen = sweep(seed, 2000);
    for (const s of seen) visited.add(s);
    // the sweep is only worth something if it visits most states
    expect(seen.size).toBeGreaterThanOrEqual(5);
  });
  it('the seeds together visit all 7 states', () => {
    if (visited.size === 0) for (const seed of seeds) for (const s of sweep(seed, 2000)) visited.add(s);
    expect([...visited].sort()).toEqual([...STATES].sort());
  });

  it('prev core is never mutated', () => {
    const m = reach('up');
    const frozen = Object.freeze({ ...m.core });
    expect(() => step(frozen, cmd('d', 10), CFG, signalNumber)).not.toThrow();
    expect(() => step(frozen, exited(1, null, 10), CFG, signalNumber)).not.toThrow();
  });
});
