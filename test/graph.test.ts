// src/graph.ts: levels, cycle paths, closures, Graphviz output. Pure: tables, no processes.
import { describe, expect, it } from 'vitest';
import {
  closure,
  cyclicComponents,
  dependents,
  findCycles,
  formatCycle,
  type Graph,
  levels,
  reverse,
  startOrder,
  subgraph,
  toDot,
  withoutCycles,
} from '../src/graph.js';

/** `{ b: 'a', d: 'b c', e: '' }` -> Graph; names only mentioned get a key too. */
const graph = (spec: Record<string, string>): Graph => {
  const g = new Map<string, string[]>();
  for (const [n, reqs] of Object.entries(spec)) {
    const list = reqs.split(' ').filter(Boolean);
    g.set(n, list);
    for (const r of list) if (!g.has(r)) g.set(r, []);
  }
  return g;
};

describe('levels', () => {
  it.each([
    ['one service', { a: '' }, [['a']]],
    ['a chain', { c: 'b', b: 'a' }, [['a'], ['b'], ['c']]],
    ['a diamond and an independent service', { b: 'a', c: 'a', d: 'b c', e: '' }, [['a', 'e'], ['b', 'c'], ['d']]],
    ['the longest path decides', { d: 'a c', c: 'b', b: 'a' }, [['a'], ['b'], ['c'], ['d']]],
    ['sorted within a level', { z: '', m: '', a: '' }, [['a', 'm', 'z']]],
    ['nothing', {}, []],
  ])('%s', (_what, spec, want) => {
    expect(levels(graph(spec))).toEqual(want);
  });

  it('startOrder puts every service after what it requires', () => {
    const g = graph({ web: 'api cache', api: 'db', cache: '', db: '', worker: 'db' });
    const order = startOrder(g);
    for (const [n, reqs] of g) for (const r of reqs) expect(order.indexOf(r)).toBeLessThan(order.indexOf(n));
    expect(order).toHaveLength(5);
  });

  it('a chain of 20,000 services: levels, order, closures and what svctl graph prints, without recursion', () => {
    const spec: Record<string, string> = { s0: '' };
    for (let i = 1; i < 20_000; i++) spec[`s${i}`] = `s${i - 1}`;
    const g = graph(spec);
    const lv = levels(g);
    expect(lv).toHaveLength(20_000);
    expect(lv[0]).toEqual(['s0']);
    expect(lv[19_999]).toEqual(['s19999']);
    expect(startOrder(g).slice(0, 3)).toEqual(['s0', 's1', 's2']);
    expect(closure(g, ['s19999']).size).toBe(20_000);
    // what `svctl graph s19999` computes (src/svctl/commands/graph.ts)
    expect(levels(subgraph(g, closure(g, ['s19999']))).map((l) => l.join(' '))).toEqual(Array.from({ length: 20_000 }, (_, i) => `s${i}`));
    expect(dependents(g, ['s0']).size).toBe(20_000);
    expect(findCycles(g)).toEqual([]);
    expect(withoutCycles(g)).toBe(g);
  });

  it('refuses a cycle (callers order acyclic graphs only)', () => {
    expect(() => levels(graph({ a: 'b', b: 'a' }))).toThrow(/dependency cycle among a, b/);
  });
});

describe('withoutCycles', () => {
  it('drops only the edges inside a cycle, so what is left can be ordered', () => {
    // web requires api; api and cache require each other; both require db
    const g = graph({ web: 'api', api: 'cache db', cache: 'api db', db: '' });
    expect(cyclicComponents(g)).toEqual([['api', 'cache']]);
    const h = withoutCycles(g);
    expect(h.get('api')).toEqual(['db']);
    expect(h.get('cache')).toEqual(['db']);
    expect(h.get('web')).toEqual(['api']);
    expect(levels(h)).toEqual([['db'], ['api', 'cache'], ['web']]);
  });

  it('a self-requirement is a cycle of one', () => {
    expect(withoutCycles(graph({ a: 'a b', b: '' })).get('a')).toEqual(['b']);
  });
});

describe('findCycles', () => {
  it.each([
    ['no cycle', { b: 'a', c: 'b' }, []],
    ['a three-cycle, read "a requires b"', { a: 'b', b: 'c', c: 'a' }, [['a', 'b', 'c', 'a']]],
    ['rotated to start at the smallest name', { x: 'y', y: 'b', b: 'x' }, [['b', 'x', 'y', 'b']]],
    ['a self-requirement', { a: 'a' }, [['a', 'a']]],
    ['a cycle with a tail into it', { t: 'a', a: 'b', b: 'a' }, [['a', 'b', 'a']]],
    [
      'two separate cycles, one line each',
      { a: 'b', b: 'a', x: 'y', y: 'x', z: '' },
      [
        ['a', 'b', 'a'],
        ['x', 'y', 'x'],
      ],
    ],
    ['the shortest cycle through the start', { a: 'b c', b: 'c', c: 'a' }, [['a', 'c', 'a']]],
  ])('%s', (_what, spec, want) => {
    expect(findCycles(graph(spec))).toEqual(want);
  });

  it('every printed step is a real requires edge', () => {
    const g = graph({ a: 'b', b: 'c d', c: 'e', d: 'a', e: '' });
    const [cycle] = findCycles(g);
    expect(cycle).toBeDefined();
    expect(cycle![0]).toBe(cycle![cycle!.length - 1]);
    for (let i = 0; i + 1 < cycle!.length; i++) expect(g.get(cycle![i]!)).toContain(cycle![i + 1]);
    expect(formatCycle(cycle!)).toBe('a -> b -> d -> a');
  });

  it('survives a long chain (no recursion)', () => {
    const spec: Record<string, string> = {};
    for (let i = 1; i < 20_000; i++) spec[`s${i}`] = `s${i - 1}`;
    spec.s0 = 's19999';
    expect(findCycles(graph(spec))[0]).toHaveLength(20_001);
  });
});

describe('closures and subgraphs', () => {
  const g = graph({ web: 'api', api: 'db', worker: 'db', db: '', other: '' });

  it('closure: the named services and everything they require', () => {
    expect([...closure(g, ['web'])].sort()).toEqual(['api', 'db', 'web']);
    expect([...closure(g, ['other', 'worker'])].sort()).toEqual(['db', 'other', 'worker']);
  });

  it('dependents: the named services and everything that requires them', () => {
    expect([...dependents(g, ['db'])].sort()).toEqual(['api', 'db', 'web', 'worker']);
    expect([...dependents(g, ['web'])]).toEqual(['web']);
  });

  it('reverse turns every edge around', () => {
    expect(reverse(g).get('db')).toEqual(['api', 'worker']);
    expect(reverse(g).get('web')).toEqual([]);
  });

  it('subgraph keeps only edges inside the set; levels of a named service', () => {
    const sub = subgraph(g, closure(g, ['web']));
    expect([...sub.keys()]).toEqual(['api', 'db', 'web']);
    expect(levels(sub)).toEqual([['db'], ['api'], ['web']]);
    expect(subgraph(g, ['web', 'db']).get('web')).toEqual([]);
  });
});

describe('toDot', () => {
  it('lists every service and one edge per requires', () => {
    const dot = toDot(graph({ d: 'b c', b: 'a', c: 'a', e: '' }));
    expect(dot.startsWith('digraph svkit {\n')).toBe(true);
    expect(dot.trimEnd().endsWith('}')).toBe(true);
    for (const n of ['a', 'b', 'c', 'd', 'e']) expect(dot).toContain(`  "${n}";\n`);
    expect(dot.match(/->/g)).toHaveLength(4);
    expect(dot).toContain('"d" -> "b";');
    expect(dot).not.toContain('"b" -> "d"');
  });
});
