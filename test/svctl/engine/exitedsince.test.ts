// What `up` says of a service that was ready and has exited since it began
// (src/svctl/engine/bringup.ts exitedSince): pure, on status objects.
import { describe, expect, it } from 'vitest';
import { blankStatus, type Status } from '../../../src/supervise/status.js';
import { exitedSince } from '../../../src/svctl/engine/bringup.js';

const T = Date.parse('2026-12-07T00:00:10.000Z');
const st = (over: Partial<Status>): Status => ({ ...blankStatus('a', 'longrun'), ...over });
const exit = (atMs: number, code = 3) => ({ code, signal: null, at: new Date(atMs).toISOString() });

describe('exitedSince', () => {
  it.each<[string, Partial<Status>, { exit: string; now: string } | null]>([
    ['in backoff', { state: 'backoff', lastExit: exit(T + 5), restarts: 1 }, { exit: 'exited 3', now: 'is restarting (backoff)' }],
    [
      'restarted at once',
      { state: 'starting', lastExit: exit(T + 5), restarts: 1 },
      { exit: 'exited 3', now: 'was restarted (1 restart)' },
    ],
    ['not restarted', { state: 'failed', lastExit: exit(T + 5) }, { exit: 'exited 3', now: 'failed' }],
    ['exited 0, down', { state: 'down', lastExit: exit(T + 5, 0) }, { exit: 'exited 0', now: 'is down' }],
    ['an exit before up began', { state: 'up', lastExit: exit(T - 5), restarts: 4 }, null],
    ['no exit', { state: 'up' }, null],
  ])('%s', (_what, over, said) => expect(exitedSince(st(over), T)).toEqual(said));
  it('no status: nothing to say', () => expect(exitedSince(null, T)).toBeNull());
});
