// src/supervise/status.ts's pure helpers: the one blank status (what a service
// never supervised looks like, as svctl shows it and svrun starts from it),
// and how a process ended, in the one wording svrun's log, lastError and
// svctl's reports share.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blankStatus, readStatus, writeStatus } from '../../src/supervise/status.js';
import { exitText, type LastExit } from '../../src/vocabulary.js';

describe('blankStatus', () => {
  it.each(['longrun', 'oneshot'] as const)('a %s never supervised: down, wanted down, since the epoch, nothing recorded', (type) => {
    expect(blankStatus('web', type)).toEqual({
      version: 1,
      name: 'web',
      type,
      supervisor: null,
      want: 'down',
      state: 'down',
      since: '1970-01-01T00:00:00.000Z',
      pid: null,
      pidStart: null,
      startedAt: null,
      readyAt: null,
      restarts: 0,
      lastExit: null,
      log: null,
      nextStartAt: null,
      lastError: null,
      cgroup: null,
    });
  });

  it('is a status readStatus accepts as written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'svkit-status-'));
    try {
      const file = join(dir, 'status.json');
      writeStatus(file, blankStatus('web', 'longrun'));
      expect(readStatus(file)).toEqual({ kind: 'ok', status: blankStatus('web', 'longrun') });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('statusfile: exitText', () => {
  it.each<[(Pick<LastExit, 'code' | 'signal'> & { reason?: unknown }) | null, string]>([
    [{ code: 0, signal: null }, 'exited 0'],
    [{ code: 1, signal: null }, 'exited 1'],
    [{ code: 125, signal: null }, 'exited 125'],
    [{ code: null, signal: 'SIGKILL' }, 'killed by SIGKILL'],
    [{ code: null, signal: 'SIGTERM' }, 'killed by SIGTERM'],
    // a signal wins over a code (Node reports one or the other; status.json written by hand may hold both)
    [{ code: 3, signal: 'SIGSEGV' }, 'killed by SIGSEGV'],
    [null, 'no exit yet'],
    // the reason svrun ended the run; anything else a hand-edited file holds is not shown
    [{ code: null, signal: 'SIGTERM', reason: 'unhealthy' }, 'killed by SIGTERM (unhealthy)'],
    [{ code: 0, signal: null, reason: 'watchdog' }, 'exited 0 (watchdog)'],
    [{ code: null, signal: 'SIGKILL', reason: 'oom' }, 'killed by SIGKILL (oom)'],
    [{ code: 1, signal: null, reason: null }, 'exited 1'],
    [{ code: 1, signal: null, reason: '\u001b[31mhacked' }, 'exited 1'],
  ])('%j -> %s', (exit, text) => {
    expect(exitText(exit)).toBe(text);
  });
});
