// svctl logs' merge of several services by time and its prefixes
// (src/svctl/commands/logs.ts), no processes. Following files: test/log/tail.test.ts;
// the real svctl logs: logs.proc.test.ts.
import { describe, expect, it } from 'vitest';
import { formatBatch, mergeByTime, prefixer } from '../../../src/svctl/commands/logs.js';

const t = (ms: number) => new Date(Date.UTC(2026, 10, 23, 10, 0, 0, ms)).toISOString();

describe('merging and prefixing (pure)', () => {
  it('merges by time, stable for equal times (earlier source first), each source kept in its order', () => {
    const a = [`${t(1)} out a1`, `${t(3)} out a3`, `${t(3)} out a3b`, `${t(9)} out a9`];
    const b = [`${t(2)} out b2`, `${t(3)} out b3`, `${t(4)} out b4`];
    expect(mergeByTime([a, b]).map((x) => `${x.source}:${x.line.slice(-3).trim()}`)).toEqual([
      '0:a1',
      '1:b2',
      '0:a3',
      '0:a3b',
      '1:b3',
      '1:b4',
      '0:a9',
    ]);
    expect(mergeByTime([b, a]).map((x) => x.line.split(' out ')[1])).toEqual(['a1', 'b2', 'b3', 'a3', 'a3b', 'b4', 'a9']);
  });

  it('a line without a time goes with the line before it; a clock step back does not reorder a source', () => {
    const a = [`${t(5)} out a5`, 'by hand', `${t(1)} out a-after-clock-step`, `${t(8)} out a8`];
    const b = [`${t(2)} out b2`, `${t(6)} out b6`];
    expect(mergeByTime([a, b]).map((x) => x.line.replace(/^\S+Z out /, ''))).toEqual([
      'b2',
      'a5',
      'by hand',
      'a-after-clock-step',
      'b6',
      'a8',
    ]);
    expect(mergeByTime([[], ['x'], []])).toEqual([{ source: 1, line: 'x' }]);
  });

  it('prefixes with the name padded to the longest, like svctl boot; one source: lines as they are', () => {
    const p = prefixer(['web', 'db', 'worker@1']);
    expect(p({ source: 1, line: `${t(0)} out hi` })).toBe(`db       | ${t(0)} out hi`);
    expect(p({ source: 2, line: 'x' })).toBe('worker@1 | x');
    expect(formatBatch(['web'], [[`${t(2)} out b`, `${t(1)} out a`]])).toEqual([`${t(2)} out b`, `${t(1)} out a`]);
    expect(formatBatch(['web', 'db'], [[`${t(2)} out w`], [`${t(1)} out d`]])).toEqual([`db  | ${t(1)} out d`, `web | ${t(2)} out w`]);
  });
});
