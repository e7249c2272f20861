// The pure helpers every error goes through: escapes that keep an error on
// one line whatever it quotes, and the cap on problems per file.
import { describe, expect, it } from 'vitest';
import { capProblems, oneLine, printable, quote } from '../src/errors.js';
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
    expect(capProblems('w/requires', lines)).toEqual(['w/requires: a', 'w/requires: b0', 'w/requires: b1', 'w/requires: b2', 'w/requires: b3', 'w/requires: ... and 6 more']);
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
