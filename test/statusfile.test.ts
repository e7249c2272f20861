// status.json's helpers that are pure: how a process ended, in the one
// wording svrun's log, lastError and svctl's reports share.
import { describe, expect, it } from 'vitest';
import { exitText, type LastExit } from '../src/statusfile.js';

describe('statusfile: exitText', () => {
  it.each<[Pick<LastExit, 'code' | 'signal'> | null, string]>([
    [{ code: 0, signal: null }, 'exited 0'],
    [{ code: 1, signal: null }, 'exited 1'],
    [{ code: 125, signal: null }, 'exited 125'],
    [{ code: null, signal: 'SIGKILL' }, 'killed by SIGKILL'],
    [{ code: null, signal: 'SIGTERM' }, 'killed by SIGTERM'],
    // a signal wins over a code (Node reports one or the other; status.json written by hand may hold both)
    [{ code: 3, signal: 'SIGSEGV' }, 'killed by SIGSEGV'],
    [null, 'no exit yet'],
  ])('%j -> %s', (exit, text) => {
    expect(exitText(exit)).toBe(text);
  });
});
