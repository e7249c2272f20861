// When svrun keeps a standby (src/supervisor/standby.ts, standbyWanted): a pure
// table, read against the states of src/supervisor/state.ts.
import { describe, expect, it } from 'vitest';
import { type Config, type Core, initialCore } from '../../src/supervisor/state.js';
import { standbyWanted } from '../../src/supervisor/standby.js';

const CFG: Config = { restart: 'always', downSignal: 'SIGTERM', timeoutKillMs: 7000, hasFinish: false };
const up: Core = { ...initialCore('up', 0), state: 'up', pid: 10, pgid: 10, readyAt: 100 };

describe('standbyWanted', () => {
  it.each<[string, Partial<Core>, Partial<Config>, number | null, number | null, boolean]>([
    ['a longrun up that restarts', {}, {}, null, null, true],
    ['starting', { state: 'starting', readyAt: null }, {}, null, null, true],
    ['in backoff between two runs', { state: 'backoff' }, {}, null, null, true],
    ['running finish before the restart', { state: 'finishing' }, {}, null, null, true],
    ['stopping leftovers before the restart', { state: 'stopping' }, {}, null, null, true],
    ['restart on-failure', {}, { restart: 'on-failure' }, null, null, true],
    ['restart never: no next run', {}, { restart: 'never' }, null, null, false],
    ['a oneshot', {}, { oneshot: true }, null, null, false],
    ['wanted down (d)', { want: 'down', state: 'stopping' }, {}, null, null, false],
    ['wanted once (o)', { want: 'once' }, {}, null, null, false],
    ['svrun is exiting (x, a signal)', { exiting: true, want: 'down', state: 'stopping' }, {}, null, null, false],
    ['the supervision is ending with the run still up', { exiting: true }, {}, null, null, false],
    ['down', { state: 'down', pid: null }, {}, null, null, false],
    ['failed', { state: 'failed', pid: null }, {}, null, null, false],
    ["pids-max: it would take one of the service's processes", {}, {}, 5, null, false],
    ['the last standby ended on its own, no run up since', { readyAt: 100 }, {}, null, 200, false],
    ['the last standby ended on its own, starting since', { state: 'starting', readyAt: null }, {}, null, 200, false],
    ['the last standby ended on its own, a run up since', { readyAt: 300 }, {}, null, 200, true],
  ])('%s', (_what, core, cfg, pidsMax, failedAt, wanted) => {
    expect(standbyWanted({ ...up, ...core }, { ...CFG, ...cfg }, pidsMax, failedAt)).toBe(wanted);
  });
});
