// The supervisor state machine (src/supervisor/state.ts) as a pure function: tables of
// event sequences and the state, log lines and effects they must produce
// (SPEC.md "The supervise/ folder" states and "svrun" restarts, stops, events),
// plus a seeded random sweep of invariants.
import { describe, expect, it } from 'vitest';
import { eventText } from '../../src/log/format.js';
import { signalNumber } from '../../src/signals.js';
import { type Config, type Core, type Effect, type Event, initialCore, step, type TimerName } from '../../src/supervisor/state.js';
import { type Command, type RestartPolicy, type State, STATES, type Want } from '../../src/vocabulary.js';

const CFG: Config = { restart: 'always', downSignal: 'SIGTERM', timeoutKillMs: 7000, hasFinish: false };
const cfgWith = (o: Partial<Config> = {}): Config => ({ ...CFG, ...o });

const boot = (at = 0): Event => ({ type: 'boot', at });
const cmd = (c: Command, at: number): Event => ({ type: 'command', cmd: c, at });
const send = (signal: NodeJS.Signals, at: number): Event => ({ type: 'send', signal, at });
const terminate = (at: number): Event => ({ type: 'terminate', at });
const killNow = (at: number): Event => ({ type: 'kill-now', at });
const spawned = (pid: number, at: number): Event => ({ type: 'spawned', pid, pidStart: 5000 + pid, at });
const spawnFailed = (error: string, at: number): Event => ({ type: 'spawn-failed', error, at });
const ready = (at: number): Event => ({ type: 'ready', at });
/** A service ready on spawn, as the interpreter reports it: spawned, then ready. */
const spawnedReady = (pid: number, at: number): Event[] => [spawned(pid, at), ready(at)];
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

const logsOf = (fx: Effect[]): string[] => fx.flatMap((e) => (e.type === 'log' ? [eventText(e.event)] : []));
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
      return new Machine(cfgWith(o)).feed(boot(0), spawned(100, 0));
    case 'up':
      return new Machine(cfgWith(o)).feed(boot(0), spawned(100, 0), ready(0));
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

/** mulberry32: a small seeded PRNG, so a failure of a random sweep replays from its seed. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
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
  it('-> starting, logs "started pid 42"; ready is an event of its own (readiness.ts, also for ready on spawn)', () => {
    const m = new Machine(CFG).feed(boot(0), spawned(42, 250));
    expect(m.core).toMatchObject({
      state: 'starting',
      since: 0,
      pid: 42,
      pgid: 42,
      pidStart: 5042,
      startedAt: 250,
      readyAt: null,
      lastError: null,
    });
    expect(m.logs).toEqual(['started pid 42']);
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
      m.feed(...spawnedReady(101, 510));
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
    m.feed(...spawnedReady(50, 1300));
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
    m.feed(...spawnedReady(9, t));
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

describe('state: oneshots (SPEC: run once per up, "up" while its effect holds; `stop` undoes it; svrun exits when done)', () => {
  /** Config as the interpreter builds it for a oneshot: readiness is run's exit 0, never "at spawn". */
  const ONESHOT: Partial<Config> = { oneshot: true };
  /**
   * A oneshot's svrun as svrun.ts starts it (oneshotCore): always exiting once
   * settled, `up` when the state on disk says its effect holds since this boot.
   */
  const oneshot = (want: Want, o: Partial<Config> = {}, effectHolds = false): Machine => {
    const m = new Machine(cfgWith({ ...ONESHOT, ...o }), want);
    m.core = { ...m.core, exiting: true, ...(effectHolds ? { state: 'up' as const, since: -5000, readyAt: -5000 } : {}) };
    return m;
  };
  const exitsOf = (fx: Effect[]) => fx.filter((e) => e.type === 'exit');
  const exits: Record<'exit 0' | 'exit 1' | 'SIGKILL', [number | null, NodeJS.Signals | null]> = {
    'exit 0': [0, null],
    'exit 1': [1, null],
    SIGKILL: [null, 'SIGKILL'],
  };

  it.each<[Want]>([['up'], ['once']])('want %s, nothing holds: boot spawns run; running is "starting", not up', (want) => {
    const m = oneshot(want).feed(boot(0));
    expect(m.last).toEqual([{ type: 'spawn' }]);
    m.feed(spawned(100, 10));
    expect(m.core).toMatchObject({ state: 'starting', pid: 100, readyAt: null });
    expect(m.logs).toEqual(['started pid 100']);
    expect(actionsOf(m.last)).toEqual([]);
  });

  // the restart policy is a longrun's: a oneshot is never restarted, whatever the file says
  const table: [RestartPolicy, Want, keyof typeof exits, 'up' | 'failed', string[], number, string | null][] = [];
  for (const restart of ['always', 'on-failure', 'never'] as const) {
    for (const want of ['up', 'once'] as const) {
      table.push([restart, want, 'exit 0', 'up', ['exited 0', 'ready'], 0, null]);
      table.push([restart, want, 'exit 1', 'failed', ['exited 1', 'failed'], 1, 'run exited 1']);
      table.push([restart, want, 'SIGKILL', 'failed', ['killed by SIGKILL', 'failed'], 1, 'run killed by SIGKILL']);
    }
  }
  it.each(table)(
    'restart %s, want %s, run %s -> %s, logs %j, svrun exits %i, never restarted',
    (restart, want, exit, state, logs, code, lastError) => {
      const [c, sig] = exits[exit];
      const m = oneshot(want, { restart }).feed(boot(0), spawned(100, 0), exited(c, sig, 700));
      expect(m.logs).toEqual(logs);
      expect(m.core).toMatchObject({
        state,
        since: 700,
        pid: null,
        restarts: 0,
        nextStartAt: null,
        lastError,
        readyAt: state === 'up' ? 700 : null,
      });
      expect(actionsOf(m.last)).toEqual([
        { type: 'cancel-timer', name: 'kill' },
        { type: 'exit', code },
      ]);
      expect(count(m.all, 'spawn')).toBe(1);
      // whatever else arrives before svrun is gone, it does not run again
      m.feed(backoffDone(800), cmd('u', 900), cmd('o', 950));
      expect(count(m.all, 'spawn')).toBe(1);
      expect(m.core.state).toBe(state);
    },
  );

  it("a finish file is a longrun's: a oneshot's exit goes straight to its outcome", () => {
    const m = oneshot('up', { hasFinish: true }).feed(boot(0), spawned(100, 0), exited(0, null, 500));
    expect(count(m.all, 'run-finish')).toBe(0);
    expect(m.core.state).toBe('up');
    expect(exitsOf(m.last)).toEqual([{ type: 'exit', code: 0 }]);
  });

  it('run exits 0 leaving processes in its group: they are stopped, then it is up', () => {
    const m = oneshot('up').feed(boot(0), spawned(100, 0), exited(0, null, 500, false));
    expect(m.core.state).toBe('stopping');
    expect(signalsOf(m.last)).toEqual(['SIGTERM', 'SIGCONT']);
    expect(exitsOf(m.last)).toEqual([]);
    m.feed(groupEmpty(600));
    expect(m.core).toMatchObject({ state: 'up', readyAt: 600 });
    expect(exitsOf(m.last)).toEqual([{ type: 'exit', code: 0 }]);
  });

  it('spawn failed: failed at once, svrun exits 1, no retry (a longrun would back off)', () => {
    const m = oneshot('up').feed(boot(0), spawnFailed('run: EACCES', 5));
    expect(m.core).toMatchObject({ state: 'failed', lastError: 'run: EACCES' });
    expect(m.logs).toEqual(['error: run: EACCES', 'failed']);
    expect(actionsOf(m.last)).toEqual([{ type: 'exit', code: 1 }]);
  });

  it.each<[Want]>([['up'], ['once']])('want %s while its effect holds: nothing runs, svrun exits 0, state stays up', (want) => {
    const m = oneshot(want, {}, true).feed(boot(0));
    expect(m.last).toEqual([{ type: 'exit', code: 0 }]);
    expect(m.core).toMatchObject({ state: 'up', since: -5000 });
  });

  it.each<[string, Command | 'terminate']>([
    ['d', 'd'],
    ['x', 'x'],
    ['SIGTERM to svrun', 'terminate'],
  ])('%s while run runs: run is stopped, down, svrun exits 0', (_d, how) => {
    const m = oneshot('up').feed(boot(0), spawned(100, 0));
    m.feed(how === 'terminate' ? terminate(300) : cmd(how, 300));
    expect(m.core).toMatchObject({ state: 'stopping', want: 'down' });
    expect(signalsOf(m.last)).toEqual(['SIGTERM', 'SIGCONT']);
    m.feed(exited(null, 'SIGTERM', 400));
    expect(m.core.state).toBe('down');
    expect(m.logs).toEqual(['killed by SIGTERM', 'down']);
    expect(exitsOf(m.last)).toEqual([{ type: 'exit', code: 0 }]);
    expect(count(m.all, 'spawn')).toBe(1);
  });

  describe('want down (svctl down): run `stop`, then stop-done', () => {
    it('up with a stop file: stopping, run-stop, nothing exits yet', () => {
      const m = oneshot('down', { hasStop: true }, true).feed(boot(1000));
      expect(m.core).toMatchObject({ state: 'stopping', since: 1000 });
      expect(actionsOf(m.last)).toEqual([{ type: 'run-stop' }]);
      expect(signalsOf(m.all)).toEqual([]); // stop is a script, not a signal: nothing of run's is left to signal
    });

    it.each<[number | null, State, string | null, string[], number]>([
      [0, 'down', null, ['down'], 0],
      [3, 'failed', 'stop exited 3', ['failed'], 1],
      [null, 'failed', 'stop did not finish', ['failed'], 1],
    ])('stop-done %s -> %s (lastError %s), logs %j, svrun exits %i', (code, state, lastError, logs, exitCode) => {
      const m = oneshot('down', { hasStop: true }, true).feed(boot(1000), { type: 'stop-done', code, at: 1200 });
      expect(m.core).toMatchObject({ state, since: 1200, lastError, want: 'down' });
      expect(m.logs).toEqual(logs);
      expect(actionsOf(m.last)).toEqual([{ type: 'exit', code: exitCode }]);
      expect(count(m.all, 'spawn')).toBe(0);
    });

    it.each<[string, boolean, boolean]>([
      ['up without a stop file', true, false],
      ['down with a stop file', false, true],
      ['down without a stop file', false, false],
    ])('%s: down at once, svrun exits 0, nothing runs', (_d, holds, hasStop) => {
      const m = oneshot('down', { hasStop }, holds).feed(boot(1000));
      expect(m.core.state).toBe('down');
      expect(actionsOf(m.last)).toEqual([{ type: 'exit', code: 0 }]);
    });

    it('terminate and d while stop runs wait for it: one exit, after stop-done', () => {
      const m = oneshot('down', { hasStop: true }, true).feed(boot(1000), terminate(1100), cmd('d', 1150), cmd('u', 1160));
      expect(m.core.state).toBe('stopping');
      expect(count(m.all, 'exit')).toBe(0);
      expect(count(m.all, 'spawn')).toBe(0);
      m.feed({ type: 'stop-done', code: 0, at: 1200 });
      expect(m.core.state).toBe('down');
      expect(count(m.all, 'exit')).toBe(1);
    });
  });

  // Not in this table: a oneshot stopping its *run* (d while run runs) is also
  // `stopping`, and step() takes a stray stop-done there as the end of `stop`
  // (down, with run's pid still on record). The interpreter never sends one
  // then (run-stop is only issued at boot with nothing running); reported.
  describe("stop-done only ends a oneshot's stop", () => {
    it.each<[string, () => Machine]>([
      ['a oneshot that is up', () => oneshot('up', {}, true)],
      ['a oneshot whose run runs', () => oneshot('up').feed(boot(0), spawned(100, 0))],
      ['a longrun that is stopping', () => reach('stopping', { hasStop: true })],
      ['a longrun that is up', () => reach('up')],
      ['a longrun that is down', () => reach('down')],
    ])('ignored in %s', (_d, make) => {
      const m = make();
      const before = m.core;
      m.feed({ type: 'stop-done', code: 0, at: 9000 });
      expect(m.core).toEqual(before);
      expect(m.last).toEqual([]);
    });
  });
});

describe('state: invariants over random event sequences', () => {
  const sweep = (seed: number, steps: number) => {
    const rnd = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    // a quarter of the supervisors run a oneshot, configured as the interpreter does
    const pickCfg = (): Config => {
      const oneshot = rnd() < 0.25;
      return {
        restart: pick(['always', 'on-failure', 'never'] as const),
        downSignal: pick(['SIGTERM', 'SIGINT', 'SIGHUP'] as const),
        timeoutKillMs: pick([0, 7000]),
        hasFinish: rnd() < 0.5,
        oneshot,
        hasStop: oneshot && rnd() < 0.5,
      };
    };
    /** A supervisor's first core, as svrun.ts makes it: a oneshot's is exiting, and up when its effect holds. */
    const firstCore = (c: Config, at: number): Core => {
      const core = initialCore(pick(['up', 'down', 'once'] as const), at);
      if (!c.oneshot) return core;
      return { ...core, exiting: true, ...(rnd() < 0.4 ? { state: 'up' as const, readyAt: at } : {}) };
    };
    let cfg = pickCfg();
    let core = firstCore(cfg, 0);
    let oneshotSpawns = 0;
    let stopRuns = 0;
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
          : pick([
              'boot',
              'command',
              'send',
              'terminate',
              'kill-now',
              'spawned',
              'spawn-failed',
              'ready',
              'exited',
              'group-empty',
              'kill-timeout',
              'finish-done',
              'stop-done',
              'backoff-done',
              'error',
            ] as const);
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
          event =
            rnd() < 0.3
              ? { type, code: null, signal: pick(['SIGKILL', 'SIGTERM', 'SIGSEGV'] as const), groupEmpty: rnd() < 0.7, at }
              : { type, code: pick([0, 1, 2, 125, 255]), signal: null, groupEmpty: rnd() < 0.7, at };
          break;
        case 'finish-done':
        case 'stop-done':
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
          // a oneshot's svrun also exits once its effect holds (up), and says "failed" in its code
          check(
            core.state === 'down' || core.state === 'failed' || (cfg.oneshot === true && core.state === 'up'),
            'exit only when down or failed (or a oneshot up)',
          );
          check(core.exiting, 'exit only when exiting');
          check(fx.code === (cfg.oneshot && core.state === 'failed' ? 1 : 0), 'exit code 0, or 1 for a failed oneshot');
        }
        if (cfg.oneshot) {
          check(fx.type !== 'run-finish', 'a oneshot has no finish');
          check(fx.type !== 'timer' || fx.name !== 'backoff', 'a oneshot never backs off');
          check(
            fx.type !== 'run-stop' || (event.type === 'boot' && core.want === 'down' && cfg.hasStop === true),
            'stop runs only for a down transaction with a stop file',
          );
          if (fx.type === 'run-stop') stopRuns += 1;
          if (fx.type === 'spawn') {
            // never restarted: run starts only at boot (a stray second boot aside, which no interpreter sends)
            check(event.type === 'boot', 'a oneshot spawns only at boot');
            oneshotSpawns += 1;
          }
        } else {
          check(fx.type !== 'run-stop', 'only a oneshot runs stop');
        }
      }
      if (cfg.oneshot) check(core.state !== 'backoff' && core.state !== 'finishing', 'a oneshot is never in backoff or finishing');
      check(prev !== core, 'a new core each step');
      // what a real interpreter would report next
      const next: Event['type'][] = [];
      for (const fx of r.effects) {
        if (fx.type === 'spawn') next.push('spawned', 'spawned', 'spawned', 'spawn-failed');
        if (fx.type === 'timer') next.push(fx.name === 'kill' ? 'kill-timeout' : 'backoff-done');
        if (fx.type === 'watch-group') next.push('group-empty');
        if (fx.type === 'run-finish') next.push('finish-done');
        if (fx.type === 'run-stop') next.push('stop-done');
      }
      if (core.state === 'starting') next.push('ready', 'exited');
      if (core.state === 'up') next.push('exited', 'command', 'send');
      if (core.state === 'stopping') next.push(core.pid === null ? 'group-empty' : 'exited', 'kill-timeout');
      if (core.state === 'down' || core.state === 'failed') next.push('command');
      if (r.effects.some((e) => e.type === 'exit')) {
        // the supervisor is gone: start over, maybe with another service definition
        cfg = pickCfg();
        core = firstCore(cfg, at);
        next.splice(0, next.length, 'boot');
      }
      expected = next.length > 0 ? next : expected;
    }
    return { seen, oneshotSpawns, stopRuns };
  };

  const seeds = [1, 2, 3, 42, 1234, 99991];
  const visited = new Set<State>();
  it.each(seeds.map((s) => [s]))('seed %i, 2000 steps', (seed) => {
    const { seen, oneshotSpawns } = sweep(seed, 2000);
    for (const s of seen) visited.add(s);
    // the sweep is only worth something if it visits most states, and runs oneshots too
    expect(seen.size).toBeGreaterThanOrEqual(5);
    expect(oneshotSpawns).toBeGreaterThan(0);
  });
  it("the seeds together visit all 7 states, and run oneshots' stop", () => {
    let stopRuns = 0;
    for (const seed of seeds) {
      const r = sweep(seed, 2000);
      for (const s of r.seen) visited.add(s);
      stopRuns += r.stopRuns;
    }
    expect([...visited].sort()).toEqual([...STATES].sort());
    expect(stopRuns).toBeGreaterThan(0);
  });

  it('prev core is never mutated', () => {
    const m = reach('up');
    const frozen = Object.freeze({ ...m.core });
    expect(() => step(frozen, cmd('d', 10), CFG, signalNumber)).not.toThrow();
    expect(() => step(frozen, exited(1, null, 10), CFG, signalNumber)).not.toThrow();
  });
});

// --- health checks and watchdog (SPEC.md "Resources and health") ---
describe('state: health checks while up', () => {
  const HEALTH: Partial<Config> = { healthIntervalMs: 100, healthRetries: 3 };
  const healthDue = (at: number): Event => ({ type: 'health-due', at });
  const pass = (at: number): Event => ({ type: 'health-result', ok: true, detail: 'exited 0', at });
  const fail = (at: number, detail = 'exited 1'): Event => ({ type: 'health-result', ok: false, detail, at });
  /** Started at 0, ready at 50. */
  const upHealthy = (o: Partial<Config> = {}) => reach('starting', { ...HEALTH, ...o }).feed(ready(50));

  it('ready arms the health timer and shows health ok with no check yet', () => {
    const m = upHealthy();
    expect(m.last).toContainEqual({ type: 'timer', name: 'health', ms: 100 });
    expect(m.core.health).toEqual({ ok: true, failures: 0, lastCheckAt: null });
  });

  it('without health-interval: no timer, health null', () => {
    const m = reach('starting').feed(ready(50));
    expect(m.last.some((e) => e.type === 'timer')).toBe(false);
    expect(m.core.health).toBeNull();
  });

  it('the timer runs a check; a passing check logs nothing and re-arms the timer from its end', () => {
    const m = upHealthy().feed(healthDue(150));
    expect(m.last).toEqual([{ type: 'run-health-check' }]);
    m.feed(pass(170));
    expect(m.last).toEqual([{ type: 'timer', name: 'health', ms: 100 }]);
    expect(m.core.health).toEqual({ ok: true, failures: 0, lastCheckAt: 170 });
  });

  it('healthy -> failing -> unhealthy: the first failure and the end are logged; stopped like d, then restarted and counted', () => {
    const m = upHealthy().feed(healthDue(150), fail(160, 'timed out after 5000 ms'));
    expect(m.logs).toEqual(['health: failing: check timed out after 5000 ms']);
    expect(m.core.health).toEqual({ ok: true, failures: 1, lastCheckAt: 160 });
    m.feed(healthDue(260), fail(270));
    expect(m.logs).toEqual([]); // still failing: no news
    m.feed(healthDue(370), fail(380));
    expect(m.logs).toEqual(['unhealthy: check failed 3 times', 'stopping: SIGTERM']);
    expect(m.core).toMatchObject({
      state: 'stopping',
      stopRequested: false,
      endReason: 'unhealthy',
      health: { ok: false, failures: 3, lastCheckAt: 380 },
    });
    expect(signalsOf(m.last)).toEqual(['SIGTERM', 'SIGCONT']);
    expect(m.last).toContainEqual({ type: 'cancel-timer', name: 'health' });
    expect(m.last).not.toContainEqual({ type: 'timer', name: 'health', ms: 100 });
    m.feed(exited(0, null, 400));
    // an exit svrun caused is a failure whatever its code: restarted, with its reason on record
    expect(m.core).toMatchObject({ restarts: 1, lastExit: { code: 0, signal: null, reason: 'unhealthy' } });
    expect(m.logs).toEqual(['exited 0', 'restarting in 0 ms']);
    expect(count(m.last, 'spawn')).toBe(1);
  });

  it('a pass in between resets the count and logs the recovery', () => {
    const m = upHealthy().feed(healthDue(150), fail(160), healthDue(260), fail(270), healthDue(370), pass(380));
    expect(m.logs).toEqual(['health: recovered after 2 failed checks']);
    expect(m.core.health).toEqual({ ok: true, failures: 0, lastCheckAt: 380 });
    m.feed(healthDue(480), fail(490), healthDue(590), fail(600));
    expect(m.core.state).toBe('up');
  });

  it('health-retries 1: the first failure is logged with how, and makes it unhealthy', () => {
    const m = upHealthy({ healthRetries: 1 }).feed(healthDue(150), fail(160));
    expect(m.logs).toEqual(['health: failing: check exited 1', 'unhealthy: check failed 1 time', 'stopping: SIGTERM']);
  });

  it.each<[RestartPolicy, State]>([
    ['always', 'starting'],
    ['on-failure', 'starting'],
    ['never', 'failed'],
  ])('after unhealthy the restart policy decides (%s -> %s), even when the service exits 0 on SIGTERM', (restart, state) => {
    const m = upHealthy({ healthRetries: 1, restart }).feed(healthDue(150), fail(160), exited(0, null, 200));
    expect(m.core.state).toBe(state);
    expect(m.core.lastExit?.reason).toBe('unhealthy');
  });

  it('the next run becomes ready healthy again, and exits without svrun ending them have reason null', () => {
    const m = upHealthy({ healthRetries: 1 }).feed(healthDue(150), fail(160), exited(null, 'SIGTERM', 200));
    m.feed(spawned(101, 200));
    expect(m.core.endReason).toBeNull();
    m.feed(ready(300));
    expect(m.core.health).toEqual({ ok: true, failures: 0, lastCheckAt: null });
    m.feed(exited(1, null, 400));
    expect(m.core.lastExit).toMatchObject({ code: 1, reason: null });
    expect(m.all).toContainEqual({ type: 'cancel-timer', name: 'health' });
  });

  it.each<[string, (m: Machine) => void]>([
    ['d', (m) => m.feed(cmd('d', 200))],
    ['terminate', (m) => m.feed(terminate(200))],
    ['exit by itself', (m) => m.feed(exited(1, null, 200))],
  ])('leaving up (%s) cancels the timer and any running check; late results and timers are ignored', (_d, leave) => {
    const m = upHealthy({ healthRetries: 1 }).feed(healthDue(150));
    leave(m);
    expect(m.last).toContainEqual({ type: 'cancel-timer', name: 'health' });
    expect(m.last).toContainEqual({ type: 'cancel-health-check' });
    const before = m.core;
    m.feed(fail(210), healthDue(220));
    expect(m.core).toEqual(before);
    expect(m.last).toEqual([]);
  });

  it("checks are not run while starting (readiness polling is the interpreter's) nor after a stop", () => {
    const m = reach('starting', HEALTH).feed(healthDue(10), fail(20));
    expect(m.all.filter((e) => e.type === 'run-health-check')).toEqual([]);
    expect(m.core.health).toBeNull();
  });
});

describe('state: watchdog', () => {
  const WD: Partial<Config> = { watchdogMs: 300 };
  const beat = (at: number): Event => ({ type: 'heartbeat', at });
  const silence = (at: number): Event => ({ type: 'watchdog-timeout', at });

  it('ready arms it; each heartbeat re-arms it', () => {
    const m = reach('starting', WD).feed(ready(50));
    expect(m.last).toContainEqual({ type: 'timer', name: 'watchdog', ms: 300 });
    m.feed(beat(150));
    expect(m.last).toEqual([{ type: 'timer', name: 'watchdog', ms: 300 }]);
    expect(m.core.lastBeatAt).toBe(150);
  });

  it('silence: logged with how long, stopped, restarted with reason watchdog', () => {
    const m = reach('starting', WD).feed(ready(50), beat(150), silence(451));
    expect(m.logs).toEqual(['watchdog: no heartbeat for 301 ms', 'stopping: SIGTERM']);
    expect(m.core).toMatchObject({ state: 'stopping', endReason: 'watchdog' });
    m.feed(exited(null, 'SIGTERM', 470));
    expect(m.core).toMatchObject({ restarts: 1, lastExit: { signal: 'SIGTERM', reason: 'watchdog' } });
  });

  it('heartbeats before ready, and while stopping, are ignored; so is a late timeout', () => {
    const m = reach('starting', WD).feed(beat(10));
    expect(m.last).toEqual([]);
    m.feed(ready(50), cmd('d', 100));
    expect(m.last).toContainEqual({ type: 'cancel-timer', name: 'watchdog' });
    const before = m.core;
    m.feed(beat(120), silence(400));
    expect(m.core).toEqual(before);
    expect(m.last).toEqual([]);
  });

  it('without watchdog: heartbeats and timeouts do nothing', () => {
    const m = reach('up');
    const before = m.core;
    m.feed(beat(10), silence(20));
    expect(m.core).toEqual(before);
    expect(m.last).toEqual([]);
  });
});

describe('state: health and watchdog over random event sequences', () => {
  const ends = { unhealthy: 0, watchdog: 0 };
  const sweep = (seed: number): void => {
    const rnd = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const cfg: Config = {
      ...CFG,
      restart: pick(['always', 'on-failure', 'never'] as const),
      healthIntervalMs: 100,
      healthRetries: pick([1, 2, 3]),
      watchdogMs: 300,
    };
    let core = initialCore('up', 0);
    const armed = new Set<TimerName>();
    let checking = false;
    let at = 0;
    let pid = 100;
    let event: Event = { type: 'boot', at };
    for (let i = 0; i < 3000; i++) {
      if (event.type === 'health-due') armed.delete('health');
      if (event.type === 'watchdog-timeout') armed.delete('watchdog');
      if (event.type === 'health-result') checking = false;
      const r = step(core, event, cfg, signalNumber);
      const prev = core;
      core = r.core;
      for (const fx of r.effects) {
        if (fx.type === 'timer') armed.add(fx.name);
        if (fx.type === 'cancel-timer') armed.delete(fx.name);
        if (fx.type === 'run-health-check') checking = true;
        if (fx.type === 'cancel-health-check') checking = false;
      }
      // plain checks (expect() per step is slow); the message replays the step
      const check = (ok: boolean, what: string) => {
        if (!ok) throw new Error(`seed ${seed} step ${i} ${JSON.stringify(event)} ${prev.state}->${core.state}: ${what}`);
      };
      if (core.state !== 'up') check(!armed.has('health') && !armed.has('watchdog') && !checking, 'nothing armed outside up');
      else check((armed.has('health') || checking) && armed.has('watchdog'), 'health timer or check, and the watchdog, armed while up');
      if (r.effects.some((e) => e.type === 'log' && e.event.kind === 'unhealthy')) ends.unhealthy += 1;
      if (r.effects.some((e) => e.type === 'log' && e.event.kind === 'watchdog')) ends.watchdog += 1;
      if (prev.lastExit !== core.lastExit && core.lastExit?.reason)
        check(prev.endReason === core.lastExit.reason, 'reason = why svrun ended the run');
      // what the interpreter could report next
      at += Math.floor(rnd() * 400);
      const next: Event[] = [];
      for (const fx of r.effects) if (fx.type === 'spawn') next.push({ type: 'spawned', pid: pid++, pidStart: null, at });
      if (core.state === 'starting') next.push({ type: 'ready', at });
      if (core.state === 'up' || core.state === 'backoff' || core.state === 'starting')
        next.push({ type: 'reconfigured', restart: rnd() < 0.3, at });
      if (core.state === 'up') {
        next.push({ type: 'heartbeat', at }, { type: 'command', cmd: pick(['d', 'u'] as const), at });
        if (rnd() < 0.1) next.push({ type: 'exited', code: pick([0, 1]), signal: null, groupEmpty: true, at });
      }
      if (checking)
        next.push(
          { type: 'health-result', ok: rnd() < 0.6, detail: 'exited 1', at },
          { type: 'health-result', ok: rnd() < 0.6, detail: 'exited 1', at },
        );
      if (armed.has('health') && !checking) next.push({ type: 'health-due', at });
      if (armed.has('watchdog')) next.push({ type: 'watchdog-timeout', at });
      if (core.state === 'stopping')
        next.push(core.mainAlive ? { type: 'exited', code: null, signal: 'SIGTERM', groupEmpty: true, at } : { type: 'group-empty', at });
      if (armed.has('backoff')) next.push({ type: 'backoff-done', at });
      if (core.state === 'down' || core.state === 'failed') next.push({ type: 'command', cmd: 'u', at });
      event = pick(next);
    }
  };
  const seeds = [7, 8, 9, 2026];
  it.each(seeds.map((s) => [s]))('seed %i: health and watchdog timers and checks live only while up', (seed) => sweep(seed));
  it('the seeds together reach both ends: unhealthy and watchdog', () => {
    if (ends.unhealthy + ends.watchdog === 0) for (const seed of seeds) sweep(seed);
    // the sweep is only worth something if both were reached
    expect(ends.unhealthy).toBeGreaterThan(0);
    expect(ends.watchdog).toBeGreaterThan(0);
  });
});

describe('state: reload (command l, then reconfigured with the new settings)', () => {
  const reconfigured = (restart: boolean, at: number): Event => ({ type: 'reconfigured', restart, at });

  it('l asks the interpreter to read the folder; nothing else changes; not once exiting', () => {
    const m = reach('up').feed(cmd('l', 500));
    expect([m.core.state, m.core.pid, actionsOf(m.last)]).toEqual(['up', 100, [{ type: 'reload' }]]);
    expect(reach('up').feed(terminate(500), cmd('l', 600)).last).toEqual([]);
  });

  it('live settings while up: the process stays; health and watchdog re-armed from now with the new values', () => {
    const m = reach('up', { healthIntervalMs: 1000, watchdogMs: 5000 });
    m.core = { ...m.core, health: { ok: true, failures: 2, lastCheckAt: 400 } };
    const next = step(m.core, reconfigured(false, 700), cfgWith({ healthIntervalMs: 2000, watchdogMs: 9000 }), signalNumber);
    expect([next.core.state, next.core.pid, next.core.lastBeatAt, next.core.health]).toEqual([
      'up',
      100,
      700,
      { ok: true, failures: 0, lastCheckAt: null },
    ]);
    expect(actionsOf(next.effects)).toEqual([
      { type: 'cancel-timer', name: 'health' },
      { type: 'cancel-health-check' },
      { type: 'cancel-timer', name: 'watchdog' },
      { type: 'timer', name: 'health', ms: 2000 },
      { type: 'timer', name: 'watchdog', ms: 9000 },
    ]);
    expect(logsOf(next.effects)).toEqual([]);
  });

  it('health-interval removed while up: its timer and check cancelled, health null, nothing armed again', () => {
    const m = reach('up', { healthIntervalMs: 1000 });
    const next = step(m.core, reconfigured(false, 700), cfgWith({ healthIntervalMs: null }), signalNumber);
    expect(next.core.health).toBeNull();
    expect(actionsOf(next.effects).filter((e) => e.type === 'timer')).toEqual([]);
  });

  it.each<[State, boolean, State, string[]]>([
    ['up', true, 'stopping', ['SIGHUP', 'SIGCONT']],
    ['starting', true, 'stopping', ['SIGHUP', 'SIGCONT']],
    ['backoff', true, 'starting', []],
    ['down', true, 'down', []],
    ['failed', true, 'failed', []],
    ['stopping', true, 'stopping', []],
    ['up', false, 'up', []],
    ['backoff', false, 'backoff', []],
  ])('%s, restart %s: %s, signals %j (the new down-signal)', (from, restart, to, signals) => {
    const m = reach(from);
    const next = step(m.core, reconfigured(restart, 3000), cfgWith({ downSignal: 'SIGHUP' }), signalNumber);
    expect(next.core.state).toBe(to);
    expect(signalsOf(next.effects)).toEqual(signals);
    if (from === 'backoff' && restart)
      expect(actionsOf(next.effects)).toEqual([{ type: 'cancel-timer', name: 'backoff' }, { type: 'spawn' }]);
  });

  it('a restart for a reload: stopped, then started again at once as a fresh start, still wanted up, not counted as a restart', () => {
    const m = reach('up').feed(reconfigured(true, 1000), exited(null, 'SIGTERM', 1100));
    expect([m.core.state, m.core.want, m.core.restarts, m.core.shortRuns]).toEqual(['starting', 'up', 0, 0]);
    expect(count(m.last, 'spawn')).toBe(1);
    expect(m.allLogs).toEqual(['started pid 100', 'ready', 'stopping: SIGTERM', 'killed by SIGTERM']);
  });
});
