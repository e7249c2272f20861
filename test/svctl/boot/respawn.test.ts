// src/svctl/boot/respawn.ts's decision: which dead supervisors svctl boot starts again. Pure: a table.
import { describe, expect, it } from 'vitest';
import { respawnWant } from '../../../src/svctl/boot/respawn.js';
import type { Status } from '../../../src/supervise/status.js';

const last = (o: Partial<Status>): Status =>
  ({
    version: 1,
    name: 'web',
    type: 'longrun',
    supervisor: { pid: 4100, pidStart: 1, startedAt: '' },
    want: 'up',
    state: 'up',
    ...o,
  }) as Status;

describe('respawnWant', () => {
  it.each([
    ['died while up: restarted wanting up', last({}), false, 'up'],
    ['died in backoff: restarted', last({ state: 'backoff' }), false, 'up'],
    ['died while starting a once: restarted wanting once', last({ want: 'once', state: 'starting' }), false, 'once'],
    ['asked to go (x, svctl down, a stop signal): want down', last({ want: 'down', state: 'down' }), false, null],
    ['killed while stopping on request: want down', last({ want: 'down', state: 'stopping' }), false, null],
    ['a oneshot: its svrun exits when the transaction is done', last({ type: 'oneshot' }), false, null],
    ['still supervised', last({}), true, null],
    ['never supervised', last({ supervisor: null }), false, null],
  ] as const)('%s', (_what, s, supervised, want) => {
    expect(respawnWant(s, supervised)).toBe(want);
  });

  it('no status at all: nothing to restart', () => {
    expect(respawnWant(null, false)).toBeNull();
  });
});
