// The table: one row per measure, svkit next to the Node floor and the peers,
// in both modes, with ratios and the goals of issues 11 and 20; and docs/performance.md, whose
// generated part sits between two markers so the hand-written analysis stays.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { best, cell, ratio, type Summary, summarize, times } from './stats.js';

/** svkit in each mode (one svrun per service; `host`: hosted, one svrun for all), the Node floor, the peers. */
export type Contender = 'svkit' | 'host' | 'floor' | 'runit' | 's6';

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

/** A goal for one svkit mode's figure: whether it is met (null: cannot tell in this run). */
export interface Goal {
  of: 'svkit' | 'host';
  text: string;
  met: (figure: Summary, ref: { floor: Summary | null; runit: Summary | null }) => boolean | null;
}

export interface Row {
  id: string;
  label: string;
  unit: string;
  /** Goals (issue 11's and 20's, or a bound the behaviour means), per mode. */
  goals?: Goal[];
  /** Instead of figures (svkit-only measures with more than one number), per mode. */
  text?: { svkit: string; host: string };
}

const MODE = { svkit: 'svkit', host: '--host' } as const;

const verdict = (row: Row, s: Samples): string =>
  (row.goals ?? [])
    .map((g) => {
      const figure = s.get(row.id, g.of);
      const met = figure ? g.met(figure, { floor: s.get(row.id, 'floor'), runit: s.get(row.id, 'runit') }) : null;
      return `${MODE[g.of]} ${g.text}${met === null ? '' : met ? ' ✓' : ' ✗'}`;
    })
    .join('; ');

export const table = (rows: readonly Row[], s: Samples): string => {
  const head = '| measure | unit | svkit | svkit --host | Node floor | runit | s6 | svkit, --host ÷ best peer | goal |';
  const lines = [head, `|${'---|'.repeat(9)}`];
  for (const row of rows) {
    if (row.text !== undefined) {
      lines.push(`| ${row.label} | ${row.unit} | ${row.text.svkit} | ${row.text.host} | - | - | - | - | |`);
      continue;
    }
    const [svkit, host, floor, runit, s6] = (['svkit', 'host', 'floor', 'runit', 's6'] as const).map((w) => s.get(row.id, w));
    const peer = best([runit!, s6!]);
    const ratios = svkit || host ? `${times(ratio(svkit!, peer))}, ${times(ratio(host!, peer))}` : '-';
    lines.push(
      `| ${row.label} | ${row.unit} | ${cell(svkit!)} | ${cell(host!)} | ${cell(floor!)} | ${cell(runit!)} | ${cell(s6!)} | ${ratios} | ${verdict(row, s)} |`,
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
