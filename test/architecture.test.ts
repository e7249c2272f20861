// The layout the code keeps (docs/architecture.md): no import cycle between
// modules, type-only imports included; each part imports only the parts
// below it; modules stay small. Read from the sources, no module is loaded.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const walk = (d: string): string[] =>
  readdirSync(d).flatMap((n) => {
    const p = join(d, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
const modules = walk(join(ROOT, 'src')).map((f) => relative(ROOT, f).split('\\').join('/'));

/** Each module's relative imports (static, dynamic and type-only), as module paths. */
const imports = new Map<string, string[]>(
  modules.map((m) => {
    const text = readFileSync(join(ROOT, m), 'utf8');
    const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((x) => x[1]!);
    return [m, [...new Set(specs.map((s) => posix.normalize(posix.join(posix.dirname(m), s)).replace(/\.js$/, '.ts')))]];
  }),
);

/** The part a module belongs to: its folder below src/, or `model` for the top-level modules (the leaves apart). */
const LEAVES = new Set(['src/vocabulary.ts', 'src/defaults.ts', 'src/errors.ts', 'src/signals.ts']);
const partOf = (m: string): string => {
  if (LEAVES.has(m)) return 'leaf';
  const rest = m.slice('src/'.length);
  return rest.includes('/') ? rest.slice(0, rest.indexOf('/')) : 'model';
};

/** What each part may import besides itself: lower layers only (leaf < os < model < supervise < log < supervisor | svctl). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  leaf: ['leaf'],
  os: ['leaf'],
  model: ['leaf', 'os'],
  supervise: ['leaf', 'os', 'model'],
  log: ['leaf', 'os', 'model', 'supervise'],
  supervisor: ['leaf', 'os', 'model', 'supervise', 'log'],
  svctl: ['leaf', 'os', 'model', 'supervise', 'log'],
  client: [],
};

/** Modules over MAX_LINES, each with the reason it is one piece. */
const MAX_LINES = 400;
const LONG_ON_PURPOSE: Record<string, string> = {
  'src/supervisor/state.ts': 'the state machine: one table of handlers over one set of moves, read as a whole',
  'src/supervisor/supervisor.ts': 'the effect interpreter: every effect and every event source of a unit, side by side',
};

describe('architecture', () => {
  it('has no import cycle, type-only imports included', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const path: string[] = [];
    const visit = (m: string) => {
      state.set(m, 'open');
      path.push(m);
      for (const d of imports.get(m) ?? []) {
        if (!imports.has(d)) continue;
        if (state.get(d) === 'open') cycles.push([...path.slice(path.indexOf(d)), d].join(' -> '));
        else if (!state.has(d)) visit(d);
      }
      path.pop();
      state.set(m, 'done');
    };
    for (const m of modules) if (!state.has(m)) visit(m);
    expect(cycles).toEqual([]);
  });

  it('imports only from the parts below each part', () => {
    const wrong: string[] = [];
    for (const [m, deps] of imports) {
      const p = partOf(m);
      for (const d of deps) {
        const q = partOf(d);
        if (q !== p && !(MAY_IMPORT[p] ?? []).includes(q)) wrong.push(`${m} -> ${d}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it(`keeps modules under ${MAX_LINES} lines, or says why not`, () => {
    const long = modules
      .filter((m) => readFileSync(join(ROOT, m), 'utf8').split('\n').length > MAX_LINES)
      .filter((m) => LONG_ON_PURPOSE[m] === undefined);
    expect(long).toEqual([]);
  });
});
