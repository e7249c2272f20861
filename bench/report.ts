// The table: one row per measure, svkit next to the Node floor and the peers,
// with ratios and the goal of issue 11; and docs/performance.md, whose
// generated part sits between two markers so the hand-written analysis stays.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { best, cell, ratio, type Summary, summarize, times } from './stats.js';

export type Contender = 'svkit' | 'floor' | 'runit' | 's6';

/** Samples by measure, then by contender. */
export class Samples {
  private readonly data = new Map<string, Map<Contender, number[]>>();

  add(measure: string, who: Contender, ...xs: number[]): void {
    const byWho = this.data.get(measure) ?? new Map<Contender, number[]>();
    this.data.set(measure, byWho);
    byWho.set(who, [...(byWho.get(who) ?? []), ...xs]);
  }

  get(measure: string, who: Contender): Summary | null {
    return summarize(this.data.get(measure)?.get(who) ?? []);
  }
}

export interface Row {
  id: string;
  label: string;
  unit: string;
  /** A goal (issue 11's, or a bound the behaviour means), and whether the svkit figure meets it (null: cannot tell in this run). */
  goal?: { text: string; met: (svkit: Summary, floor: Summary | null, runit: Summary | null) => boolean | null };
  /** Instead of figures (svkit-only measures with more than one number). */
  text?: string;
}

const verdict = (row: Row, s: Samples): string => {
  const svkit = s.get(row.id, 'svkit');
  if (!row.goal) return '';
  const met = svkit ? row.goal.met(svkit, s.get(row.id, 'floor'), s.get(row.id, 'runit')) : null;
  return `${row.goal.text}${met === null ? '' : met ? ' ✓' : ' ✗'}`;
};

export const table = (rows: readonly Row[], s: Samples): string => {
  const head = '| measure | unit | svkit | Node floor | svkit ÷ floor | runit | s6 | svkit ÷ best peer | goal |';
  const lines = [head, `|${'---|'.repeat(9)}`];
  for (const row of rows) {
    if (row.text !== undefined) {
      lines.push(`| ${row.label} | ${row.unit} | ${row.text} | - | - | - | - | - | |`);
      continue;
    }
    const svkit = s.get(row.id, 'svkit');
    const floor = s.get(row.id, 'floor');
    const runit = s.get(row.id, 'runit');
    const s6 = s.get(row.id, 's6');
    const peer = best([runit, s6]);
    lines.push(
      `| ${row.label} | ${row.unit} | ${cell(svkit)} | ${cell(floor)} | ${times(ratio(svkit, floor))} | ${cell(runit)} | ${cell(s6)} | ${times(ratio(svkit, peer))} | ${verdict(row, s)} |`,
    );
  }
  return lines.join('\n');
};

const BEGIN = '<!-- bench:begin: written by `npm run bench`; edit outside these markers -->';
const END = '<!-- bench:end -->';

const TEMPLATE = `# Performance

What svkit costs and how fast it reacts, next to the Node floor (bare
\`node\` doing nothing, measured the same way in the same run) and to runit
and s6 (where installed) on the same machine, in the same run. \`npm run bench\`
measures everything and rewrites the part between the markers below.

${BEGIN}
${END}

## Analysis

_To be completed from the figures above (the lead):_

### Where the per-process Node floor costs svkit

- memory: ...
- start-up: ...

### Where svkit leads

- orphans, double runs, TERM-ignoring services: ...
`;

/** Replaces the generated part of the file (creating the file from the template when missing). */
export const writeDoc = (file: string, generated: string): void => {
  const old = existsSync(file) ? readFileSync(file, 'utf8') : TEMPLATE;
  const from = old.indexOf(BEGIN);
  const to = old.indexOf(END);
  const base = from >= 0 && to > from ? old : TEMPLATE;
  const a = base.indexOf(BEGIN) + BEGIN.length;
  const b = base.indexOf(END);
  writeFileSync(file, `${base.slice(0, a)}\n${generated.trim()}\n${base.slice(b)}`);
};
