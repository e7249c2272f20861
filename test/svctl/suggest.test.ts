// The guess after an unknown command (src/svctl/suggest.ts): one typo away,
// two for longer words, never an unrelated word of the same length.
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/svctl/cli.js';
import { closest, editDistance, unknownCommandText } from '../../src/svctl/suggest.js';

const COMMANDS = buildProgram(() => {}).commands.map((c) => c.name());

describe('suggestions for an unknown command', () => {
  it('edit distance counts a swap of neighbours as one', () => {
    expect(editDistance('stauts', 'status')).toBe(1);
    expect(editDistance('bogus', 'logs')).toBe(2);
    expect(editDistance('', 'up')).toBe(2);
    expect(editDistance('up', 'up')).toBe(0);
  });

  it.each<[string, string[]]>([
    ['bogus', []], // commander's rule said "logs": two edits in five letters is another word
    ['stauts', ['status']],
    ['stats', ['status']],
    ['resart', ['restart']],
    ['restrat', ['restart']],
    ['lgos', ['logs']],
    ['donw', ['down']],
    ['compleiton', ['completion']],
    ['metircs', ['metrics']],
    ['xyz', []],
    ['hello', []],
    ['boat', ['boot']],
  ])('%s -> %j', (word, expected) => {
    expect(closest(word, COMMANDS)).toEqual(expected);
  });

  it('one line, with the guess only when there is one', () => {
    expect(unknownCommandText('bogus', COMMANDS)).toBe("unknown command 'bogus'");
    expect(unknownCommandText('stauts', COMMANDS)).toBe("unknown command 'stauts' (did you mean status?)");
    expect(unknownCommandText('dwn', ['down', 'dawn'])).toBe("unknown command 'dwn' (did you mean one of down, dawn?)");
  });

  it('every command is found again after any one swap of neighbouring letters', () => {
    for (const c of COMMANDS) {
      for (let i = 0; i + 1 < c.length; i++) {
        if (c[i] === c[i + 1]) continue;
        const typo = c.slice(0, i) + c[i + 1] + c[i] + c.slice(i + 2);
        expect(closest(typo, COMMANDS), typo).toContain(c);
      }
    }
  });
});
