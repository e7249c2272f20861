// src/statusfile.ts: the one blank status (what a service never supervised
// looks like), as svctl shows it and svrun starts from it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blankStatus, readStatus, writeStatus } from '../src/statusfile.js';

describe('blankStatus', () => {
  it.each(['longrun', 'oneshot'] as const)('a %s never supervised: down, wanted down, since the epoch, nothing recorded', (type) => {
    expect(blankStatus('web', type)).toEqual({
      version: 1, name: 'web', type, supervisor: null, want: 'down', state: 'down', since: '1970-01-01T00:00:00.000Z',
      pid: null, pidStart: null, startedAt: null, readyAt: null, restarts: 0, lastExit: null, log: null,
      nextStartAt: null, lastError: null, cgroup: null,
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
