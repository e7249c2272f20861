// src/svctl/engine/stopplan.ts: the stop order and waits from what the supervisors
// recorded and what the folders say now, valid or not. Pure: tables only.
import { describe, expect, it } from 'vitest';
import { startOrder } from '../../../src/graph.js';
import type { ServiceDef } from '../../../src/servicedir.js';
import type { Status } from '../../../src/supervise/status.js';
import { stopPlanOf, recordedSettings, type StopInput, stopTimeoutMs } from '../../../src/svctl/engine/stopplan.js';

const running = (requires: string[], timeoutKillMs = 300, extra: Record<string, unknown> = {}): Status =>
  ({
    version: 1,
    name: 'x',
    type: 'longrun',
    state: 'up',
    settings: { requires, downSignal: 'SIGTERM', timeoutKillMs, timeoutFinishMs: 100 },
    ...extra,
  }) as unknown as Status;

const def = (timeoutKillMs: number): ServiceDef => ({ type: 'longrun', timeoutKillMs, timeoutFinishMs: 5000 }) as ServiceDef;

const input = (name: string, o: Partial<StopInput> = {}): StopInput => ({
  name,
  dir: `/sv/${name}`,
  def: null,
  requires: [],
  running: null,
  ...o,
});

/** Stop order: the reverse of the start order of the plan's graph. */
const stopOrder = (inputs: StopInput[]) => startOrder(stopPlanOf(inputs).graph).reverse();

describe('stopPlanOf', () => {
  it('orders by the requires a running supervisor started with, when the folder says otherwise now', () => {
    const order = stopOrder([input('db', { def: def(7000) }), input('web', { running: running(['db']) })]);
    expect(order).toEqual(['web', 'db']);
  });

  it('orders by the folder as it is now too (the union of both)', () => {
    const order = stopOrder([input('db'), input('cache'), input('web', { requires: ['cache'], running: running(['db']) })]);
    expect(order.indexOf('web')).toBeLessThan(order.indexOf('db'));
    expect(order.indexOf('web')).toBeLessThan(order.indexOf('cache'));
  });

  it("waits with the supervisor's timeouts, else the valid folder's, else the defaults", () => {
    const t = stopPlanOf([input('a', { def: def(1000), running: running([], 300) }), input('b', { def: def(1000) }), input('c')]).targets;
    expect(t.get('a')).toMatchObject({ timeoutKillMs: 300, timeoutFinishMs: 100, from: 'supervisor' });
    expect(t.get('b')).toMatchObject({ timeoutKillMs: 1000, from: 'folder' });
    expect(t.get('c')).toMatchObject({ timeoutKillMs: 7000, timeoutFinishMs: 5000, from: 'defaults' });
  });

  it('expands worker@* to the instances there are and drops names that are not there', () => {
    const order = stopOrder([input('worker@1'), input('worker@2'), input('pool', { running: running(['worker@*', 'gone']) })]);
    expect(order[0]).toBe('pool');
    expect(order).toHaveLength(3);
  });

  it('a cycle never blocks a stop: its edges are dropped and it is reported', () => {
    const plan = stopPlanOf([input('a', { requires: ['b'] }), input('b', { running: running(['a']) }), input('top', { requires: ['a'] })]);
    expect(plan.cycles).toEqual([['a', 'b', 'a']]);
    expect(startOrder(plan.graph).reverse()[0]).toBe('top');
  });
});

describe('recordedSettings (status.json is untrusted)', () => {
  it.each([
    ['no settings (an older svrun)', {}],
    ['a negative timeout', { settings: { requires: [], timeoutKillMs: -1, timeoutFinishMs: 0 } }],
    ["a timeout past setTimeout's range", { settings: { requires: [], timeoutKillMs: 2 ** 31, timeoutFinishMs: 0 } }],
    ['requires not a list', { settings: { requires: 'db', timeoutKillMs: 1, timeoutFinishMs: 0 } }],
    ['a bad name in requires', { settings: { requires: ['../etc'], timeoutKillMs: 1, timeoutFinishMs: 0 } }],
    ['a huge list', { settings: { requires: Array(10_001).fill('a'), timeoutKillMs: 1, timeoutFinishMs: 0 } }],
  ])('%s: ignored', (_what, extra) => {
    expect(recordedSettings({ version: 1, ...extra } as unknown as Status)).toBeNull();
  });

  it('well formed: taken', () => {
    expect(recordedSettings(running(['db', 'worker@*']))).toMatchObject({ requires: ['db', 'worker@*'], timeoutKillMs: 300 });
  });
});

describe('stopTimeoutMs', () => {
  // timeout-kill, then timeout-finish, then a second for svrun's exit; the defaults (7000 + 5000) without settings
  it.each([
    [{ timeoutKillMs: 300, timeoutFinishMs: 100 }, 1400],
    [{ timeoutKillMs: 0, timeoutFinishMs: 0 }, 1000],
    [{ timeoutKillMs: 7000, timeoutFinishMs: 5000 }, 13_000],
    [undefined, 13_000],
  ])('%o -> %i ms', (t, ms) => {
    expect(stopTimeoutMs(t)).toBe(ms);
  });

  it('bounds the wait for each target of a plan by what it was planned with', () => {
    const plan = stopPlanOf([input('db'), input('web', { def: def(300) }), input('api', { running: running([], 50) })]);
    expect(stopTimeoutMs(plan.targets.get('db'))).toBe(13_000);
    expect(stopTimeoutMs(plan.targets.get('web'))).toBe(300 + 5000 + 1000);
    expect(stopTimeoutMs(plan.targets.get('api'))).toBe(50 + 100 + 1000);
  });
});
