// What svctl boot records for its scan directory (src/log/bootstdout.ts):
// the record is parsed as untrusted input, and followed only while a boot
// reads the FIFO: a stale record (a SIGKILLed boot) or a planted file or
// symlink in the FIFO's place leaves supervisors logging to log/current.
import { spawnSync } from 'node:child_process';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBootRecord } from '../../src/log/bootstdout.js';
import { Sandbox, svrunPids, withSandbox } from '../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

describe('the boot record', () => {
  it.each<[string, unknown]>([
    ['{"log":"stdout","logWidth":3}', { log: 'stdout', logWidth: 3 }],
    ['{"log":"stdout","logWidth":0,"extra":true}\n', { log: 'stdout', logWidth: 0 }],
    ['{"log":"stdout","logWidth":3,"color":true,"where":"the terminal /dev/pts/3"}', { log: 'stdout', logWidth: 3, color: true, where: 'the terminal /dev/pts/3' }],
    // colour only when true; a `where` that is not one printable line is not said
    ['{"log":"stdout","logWidth":3,"color":"yes","where":"a\\nb"}', { log: 'stdout', logWidth: 3 }],
    [`{"log":"stdout","logWidth":3,"where":"${'x'.repeat(300)}"}`, { log: 'stdout', logWidth: 3 }],
    ['{"log":"file","logWidth":3}', null],
    ['{"log":"stdout","logWidth":-1}', null],
    ['{"log":"stdout","logWidth":1e9}', null],
    ['{"log":"stdout","logWidth":"3"}', null],
    ['{"log":"stdout"}', null],
    ['null', null],
    ['[]', null],
    ['not json', null],
  ])('%s -> %j', (text, expected) => {
    expect(parseBootRecord(text)).toEqual(expected);
  });

  it.each<[string, () => void]>([
    ['a record left by a boot that is gone (its FIFO has no reader)', () => expect(spawnSync('mkfifo', [join(sb.scan, '.svctl.stdout')]).status).toBe(0)],
    ['a regular file in the FIFO\'s place', () => writeFileSync(join(sb.scan, '.svctl.stdout'), '')],
    ['a symlink in the FIFO\'s place (never followed)', () => symlinkSync(sb.path('elsewhere'), join(sb.scan, '.svctl.stdout'))],
  ])('%s: svctl up starts the supervisor as usual, logging to log/current', async (_d, plant) => {
    const dir = sb.service('web', 'echo hello\nexec sleep 1000');
    writeFileSync(join(sb.scan, '.svctl.boot'), '{"log":"stdout","logWidth":3}\n');
    plant();
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
