// What svctl boot records for its scan directory (src/log/bootstdout.ts):
// the record is parsed as untrusted input, and followed only while a boot
// reads the FIFO: a stale record (a SIGKILLed boot) or a planted file or
// symlink in the FIFO's place leaves supervisors logging to log/current.
// svctl up on a stale record, end to end: bootstdout.proc.test.ts.
import { closeSync, constants, openSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureFifo } from '../../src/os/fifo.js';
import { bootStdoutWhere, parseBootRecord, recordedOutput } from '../../src/log/bootstdout.js';
import { type Sandbox, withSandbox } from '../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

describe('the boot record', () => {
  it.each<[string, unknown]>([
    ['{"log":"stdout","logWidth":3}', { log: 'stdout', logWidth: 3 }],
    ['{"log":"stdout","logWidth":0,"extra":true}\n', { log: 'stdout', logWidth: 0 }],
    [
      '{"log":"stdout","logWidth":3,"color":true,"where":"the terminal /dev/pts/3"}',
      { log: 'stdout', logWidth: 3, color: true, where: 'the terminal /dev/pts/3' },
    ],
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

  it('followed while a boot reads the FIFO: svrun gets --log stdout (and --log-color) and the FIFO as its stdout', () => {
    writeFileSync(join(sb.scan, '.svctl.boot'), '{"log":"stdout","logWidth":3,"color":true,"where":"the terminal /dev/pts/3"}\n');
    const fifo = join(sb.scan, '.svctl.stdout');
    ensureFifo(fifo);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK); // boot's end
    try {
      const out = recordedOutput(sb.scan);
      expect(out?.args).toEqual(['--log', 'stdout', '--log-width', '3', '--log-color']);
      closeSync(out!.stdout);
      expect(bootStdoutWhere(sb.scan)).toBe('the terminal /dev/pts/3');
    } finally {
      closeSync(reader);
    }
  });

  it.each<[string, () => void]>([
    ['a record left by a boot that is gone (its FIFO has no reader)', () => ensureFifo(join(sb.scan, '.svctl.stdout'))],
    ["a regular file in the FIFO's place", () => writeFileSync(join(sb.scan, '.svctl.stdout'), '')],
    ["a symlink in the FIFO's place (never followed)", () => symlinkSync(sb.path('elsewhere'), join(sb.scan, '.svctl.stdout'))],
    ['no FIFO at all', () => {}],
  ])('%s: not followed (svrun logs to log/current as usual)', (_d, plant) => {
    writeFileSync(join(sb.scan, '.svctl.boot'), '{"log":"stdout","logWidth":3}\n');
    plant();
    expect(recordedOutput(sb.scan)).toBeNull();
    expect(bootStdoutWhere(sb.scan)).toBeNull();
  });
});
