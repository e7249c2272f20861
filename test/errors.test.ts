// The one error model (an SvError thrown, printed and turned into an exit
// code only by the entry points), and the pure helpers every error goes
// through: escapes that keep an error on one line whatever it quotes, and
// the cap on problems per file.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_FAILED, EXIT_INVALID, EXIT_USAGE } from '../src/defaults.js';
import { capProblems, collectErrors, failure, oneLine, printable, quote, signalled, SvError } from '../src/errors.js';
import { bootExitCode } from '../src/svctl/boot/init.js';
import { idInRange } from '../src/os/identity.js';
import { checkUser } from '../src/servicedir.js';

describe('errors: one line always', () => {
  it('printable escapes C0, DEL, C1 and the Unicode line separators, JSON-style', () => {
    expect(printable('a\nb\r\t\x1b[31m\x00\x7f\x9b\u2028é')).toBe('a\\nb\\r\\t\\x1b[31m\\x00\\x7f\\x9b\\u2028é');
  });

  it('printable is idempotent (the printers apply it again as a last guard)', () => {
    const once = printable('x\ny\x1b');
    expect(printable(once)).toBe(once);
    expect(oneLine(`web/env/${once}: invalid variable name`)).toBe('web/env/x\\ny\\x1b: invalid variable name');
  });

  it('quote escapes quotes and backslashes too, so the value is unambiguous', () => {
    expect(quote('abc')).toBe('"abc"');
    expect(quote('a"b\\c\n')).toBe('"a\\"b\\\\c\\n"');
  });
});

describe('errors: each problem once, a few per file', () => {
  it('drops repeats, keeps the first 5, counts the rest', () => {
    const lines = [...Array(1000).fill('w/requires: a'), ...Array.from({ length: 10 }, (_, i) => `w/requires: b${i}`)];
    expect(capProblems('w/requires', lines)).toEqual([
      'w/requires: a',
      'w/requires: b0',
      'w/requires: b1',
      'w/requires: b2',
      'w/requires: b3',
      'w/requires: ... and 6 more',
    ]);
  });

  it('keeps up to 5 as they are', () => {
    expect(capProblems('w/x', ['1', '2', '2', '3'])).toEqual(['1', '2', '3']);
  });
});

describe('user: numeric ids in range', () => {
  it.each([
    ['0', true],
    ['4294967294', true],
    ['004294967294', true],
    ['4294967295', false],
    ['99999999999999999999999999999', false],
    ['nobody', true],
  ])('idInRange(%s) is %s', (s, ok) => {
    expect(idInRange(s)).toBe(ok);
  });

  it.each([
    ['nobody', null],
    ['1000:1000', null],
    ['4294967295', 'expected a user id from 0 to 4294967294, got "4294967295"'],
    ['0:4294967296', 'expected a group id from 0 to 4294967294, got "4294967296"'],
    ['a:b:c', 'expected USER or USER:GROUP, got "a:b:c"'],
  ])('checkUser(%s)', (spec, problem) => {
    expect(checkUser(spec)).toBe(problem);
  });
});

describe('errors: one model, printed only by the entry points', () => {
  it('an SvError carries its code, exit code and one line per problem; the entry point prefixes each', () => {
    const err = new SvError('svkit.invalid', EXIT_INVALID, ['web/run: missing', 'web/timeout-kill: expected milliseconds, got "a\nb"']);
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe('web/run: missing');
    expect(failure('svrun', err, 1)).toEqual({
      lines: ['svrun: web/run: missing', 'svrun: web/timeout-kill: expected milliseconds, got "a\\nb"'],
      exitCode: EXIT_INVALID,
    });
  });

  it('anything else thrown is one line and the fallback exit code', () => {
    expect(failure('svctl', new Error('boom\nat x'), EXIT_FAILED)).toEqual({ lines: ['svctl: boom\\nat x'], exitCode: EXIT_FAILED });
    expect(failure('svctl', 'text', EXIT_FAILED)).toEqual({ lines: ['svctl: text'], exitCode: EXIT_FAILED });
  });

  it('a stop signal is exit 128+N with nothing to print', () => {
    const err = signalled('SIGINT');
    expect(err.code).toBe('svkit.signal');
    expect(failure('svctl', err, 1)).toEqual({ lines: [], exitCode: 130 });
  });

  it("collectErrors names every bad item at once, in order, with the first error's code", () => {
    const check = (n: number) => {
      if (n % 2) throw new SvError('svkit.missing-service', EXIT_USAGE, `${n}: odd`);
      return n * 10;
    };
    expect(collectErrors([2, 4], check)).toEqual([20, 40]);
    let thrown: unknown;
    try {
      collectErrors([1, 2, 3], check);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(SvError);
    expect((thrown as SvError).lines).toEqual(['1: odd', '3: odd']);
    expect((thrown as SvError).exitCode).toBe(EXIT_USAGE);
    // anything but an SvError is a bug: it is not collected
    expect(() =>
      collectErrors([1], () => {
        throw new TypeError('bug');
      }),
    ).toThrow(TypeError);
  });

  it("boot exits with CMD's code when CMD ran (128+N for a signal: exitStatus, test/signals.test.ts), else why it shut down", () => {
    expect(bootExitCode(null, 1)).toBe(1);
    expect(bootExitCode(0, 1)).toBe(0);
  });

  it('no module but the two entry points (cmd/) ends the process', () => {
    // the client library runs inside services, as their shutdown handler: ending the service is its job
    const allowed = new Set(['client/index.ts']);
    const src = join(import.meta.dirname, '..', 'src');
    const files = (readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(20);
    const exiting = files.filter((f) => !allowed.has(f) && /\bprocess\.exit\s*\(/.test(readFileSync(join(src, f), 'utf8')));
    expect(exiting).toEqual([]);
  });
});
