// The bench's pure parts: the statistics it prints and the doc writer that
// must keep the hand-written analysis of docs/performance.md.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Samples, table, writeDoc } from '../../bench/report.js';
import { best, cell, num, ratio, summarize } from '../../bench/stats.js';

describe('bench statistics', () => {
  it('median, p10 and p90 interpolate between ranks; non-numbers are dropped', () => {
    expect(summarize([3, 1, 2, NaN])).toEqual({ median: 2, p10: 1.2, p90: 2.8, n: 3 });
    expect(summarize([4, 1, 3, 2])!.median).toBe(2.5);
    expect(summarize([])).toBeNull();
  });

  it('ratios of medians, and the best (lowest) peer', () => {
    const a = summarize([10])!;
    const b = summarize([4])!;
    expect(ratio(a, b)).toBe(2.5);
    expect(ratio(a, null)).toBeNull();
    expect(ratio(a, summarize([0]))).toBeNull();
    expect(best([null, a, b])).toBe(b);
    expect(best([null])).toBeNull();
  });

  it('three significant digits, and a spread only where there is one', () => {
    expect([0, 0.09712, 4.216, 22.04, 118.4, 3420.7].map(num)).toEqual(['0', '0.097', '4.22', '22.0', '118', '3421']);
    expect(cell(summarize([1, 2, 3]))).toBe('2.00 (1.20–2.80)');
    expect(cell(summarize([5]))).toBe('5.00');
    expect(cell(null)).toBe('-');
  });

  it('a table row shows both modes, their ratios to the best peer, and whether each goal is met', () => {
    const s = new Samples();
    s.add('restart', 'svkit', 8, 10, 12);
    s.add('restart', 'host', 6);
    s.add('restart', 'runit', 4);
    s.add('restart', 's6', 1000);
    const twice = (of: 'svkit' | 'host') => ({
      of,
      text: '≤ 2x runit',
      met: (k: { median: number }, r: { runit: { median: number } | null }) => (r.runit ? k.median <= 2 * r.runit.median : null),
    });
    const out = table([{ id: 'restart', label: 'restart', unit: 'ms', goals: [twice('svkit'), twice('host')] }], s);
    expect(out.split('\n')[2]).toBe(
      '| restart | ms | 10.0 (8.40–11.6) | 6.00 | - | 4.00 | 1000 | 2.50x, 1.50x | svkit ≤ 2x runit ✗; --host ≤ 2x runit ✓ |',
    );
  });
});

describe('docs/performance.md writer', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the page from its template, then replaces only what lies between the markers', () => {
    dir = mkdtempSync(join(tmpdir(), 'svkit-bench-doc-'));
    const file = join(dir, 'performance.md');
    writeDoc(file, 'first figures');
    const created = readFileSync(file, 'utf8');
    expect(created).toContain('\nfirst figures\n<!-- bench:end -->');
    expect(created).toContain('## Analysis');
    writeFileSync(file, created.replace('## Analysis', '## Analysis\n\nWritten by hand.'));
    writeDoc(file, 'second figures');
    const after = readFileSync(file, 'utf8');
    expect(after).toContain('second figures');
    expect(after).not.toContain('first figures');
    expect(after).toContain('Written by hand.');
  });
});
