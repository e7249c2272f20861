// A boot record left by a SIGKILLed svctl boot (src/log/bootstdout.ts), end
// to end: svctl up starts the supervisor as usual, logging to log/current,
// and svctl logs reads it. The other records that are not followed (a file
// or a symlink in the FIFO's place...): bootstdout.test.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureFifo } from '../../src/os/fifo.js';
import { type Sandbox, svrunPids, withSandbox } from '../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

describe('the boot record', () => {
  it('a record left by a boot that is gone (its FIFO has no reader): svctl up starts the supervisor as usual, logging to log/current', async () => {
    const dir = sb.service('web', 'echo hello\nexec sleep 1000');
    writeFileSync(join(sb.scan, '.svctl.boot'), '{"log":"stdout","logWidth":3}\n');
    ensureFifo(join(sb.scan, '.svctl.stdout'));
    const r = await sb.svctl(['up', 'web']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    await sb.waitLog('web', /out hello/);
    const [pid] = svrunPids(dir);
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).not.toContain('stdout');
    const logs = await sb.svctl(['logs', 'web']);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/ out hello\n/);
  });
});
