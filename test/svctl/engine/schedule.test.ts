// src/svctl/engine/schedule.ts: the order, the concurrency and the failure rule of
// running a graph, with fake actions whose completion the test controls.
// Pure logic: no processes, no timers.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../../src/graph.js';
import { type Direction, type NodeResult, runGraph } from '../../../src/svctl/engine/schedule.js';

/** web requires db and cache, worker requires db; report requires worker. */
const G: Graph = new Map([
  ['web', ['cache', 'db']],
  ['worker', ['db']],
  ['report', ['worker']],
  ['db', []],
  ['cache', []],
]);

/** Lets every settled promise chain run (the scheduler's `then`s). */
const flush = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

/**
 * Actions that stay pending until the test finishes them: `running` is
 * what has been started and not finished yet, `started` everything ever
 * started, in order.
 */
const controlled = (already: ReadonlySet<string> = new Set()) => {
  const finish = new Map<string, (problem: string | null) => void>();
  const started: string[] = [];
  const steps = {
    act: (name: string) =>
      new Promise<string | null>((resolve) => {
        started.push(name);
        finish.set(name, (p) => {
          finish.delete(name);
          resolve(p);
        });
      }),
    already: (name: string) => already.has(name),
  };
  return {
    steps,
    started,
    running: () => [...finish.keys()].sort(),
    async ok(name: string) {
      finish.get(name)!(null);
      await flush();
    },
    async fail(name: string) {
      finish.get(name)!(`${name}: broke`);
      await flush();
    },
  };
};

const asObject = (results: Array<[string, NodeResult]>) => Object.fromEntries(results);

describe('runGraph, requires-first (up)', () => {
  it('starts every node without requires at once, and each other one as soon as what it requires is done', async () => {
    const c = controlled();
    const done = runGraph(G, 'requires-first', c.steps);
    await flush();
    expect(c.running()).toEqual(['cache', 'db']);
    await c.ok('db');
    // worker needs only db; web still waits for cache
    expect(c.running()).toEqual(['cache', 'worker']);
    await c.ok('worker');
    expect(c.running()).toEqual(['cache', 'report']);
    await c.ok('cache');
    expect(c.running()).toEqual(['report', 'web']);
    await c.ok('report');
    await c.ok('web');
    const results = await done;
    expect(results.map(([n]) => n)).toEqual(['cache', 'db', 'web', 'worker', 'report']);
    expect(results.every(([, r]) => r.kind === 'done')).toBe(true);
  });

  it('acts on no node whose requires failed, and names the failure behind it, transitively', async () => {
    const c = controlled();
    const done = runGraph(G, 'requires-first', c.steps);
    await flush();
    await c.fail('db');
    // the independent branch goes on
    expect(c.running()).toEqual(['cache']);
    await c.ok('cache');
    const results = asObject(await done);
    expect(c.started.sort()).toEqual(['cache', 'db']);
    expect(results).toEqual({
      db: { kind: 'failed', problem: 'db: broke' },
      cache: { kind: 'done' },
      web: { kind: 'blocked', by: ['db'], causes: ['db'] },
      worker: { kind: 'blocked', by: ['db'], causes: ['db'] },
      report: { kind: 'blocked', by: ['worker'], causes: ['db'] },
    });
  });

  it('lists each failure behind a node once, sorted', async () => {
    const c = controlled();
    const done = runGraph(G, 'requires-first', c.steps);
    await flush();
    await c.fail('db');
    await c.fail('cache');
    expect(asObject(await done).web).toEqual({ kind: 'blocked', by: ['cache', 'db'], causes: ['cache', 'db'] });
  });

  it('counts a blocked node that is already there as done, and goes on with what requires it', async () => {
    const c = controlled(new Set(['worker']));
    const done = runGraph(G, 'requires-first', c.steps);
    await flush();
    await c.fail('db');
    expect(c.running()).toEqual(['cache', 'report']);
    await c.ok('cache');
    await c.ok('report');
    const results = asObject(await done);
    expect(results.worker).toEqual({ kind: 'done' });
    expect(results.report).toEqual({ kind: 'done' });
    expect(results.web).toEqual({ kind: 'blocked', by: ['db'], causes: ['db'] });
  });
});

describe('runGraph, dependents-first (down)', () => {
  it('starts every node nothing requires at once, and each other one once all that requires it is done', async () => {
    const c = controlled();
    const done = runGraph(G, 'dependents-first', c.steps);
    await flush();
    expect(c.running()).toEqual(['report', 'web']);
    await c.ok('web');
    // cache was required by web alone; db waits for worker too
    expect(c.running()).toEqual(['cache', 'report']);
    await c.ok('report');
    expect(c.running()).toEqual(['cache', 'worker']);
    await c.ok('worker');
    expect(c.running()).toEqual(['cache', 'db']);
    await c.ok('cache');
    await c.ok('db');
    const results = await done;
    expect(results.map(([n]) => n)).toEqual(['report', 'worker', 'web', 'db', 'cache']);
    expect(results.every(([, r]) => r.kind === 'done')).toBe(true);
  });

  it('stops nothing a failed node requires, naming the dependents that are not done', async () => {
    const c = controlled(new Set(['cache']));
    const done = runGraph(G, 'dependents-first', c.steps);
    await flush();
    await c.fail('web');
    await c.ok('report');
    await c.ok('worker');
    const results = asObject(await done);
    expect(c.started.sort()).toEqual(['report', 'web', 'worker']);
    expect(results.db).toEqual({ kind: 'blocked', by: ['web'], causes: ['web'] });
    // already down: done although web failed
    expect(results.cache).toEqual({ kind: 'done' });
  });
});

describe('runGraph, any graph', () => {
  it('resolves at once with nothing for an empty graph', async () => {
    expect(await runGraph(new Map(), 'requires-first', controlled().steps)).toEqual([]);
  });

  it.each<[Direction]>([['requires-first'], ['dependents-first']])(
    'walks a chain of 20,000 nodes %s, in order, without overflowing the stack',
    async (direction) => {
      const n = 20_000;
      const g: Graph = new Map(Array.from({ length: n }, (_, i) => [`s${i}`, i > 0 ? [`s${i - 1}`] : []]));
      const acted: string[] = [];
      const results = await runGraph(g, direction, {
        act: async (name) => {
          acted.push(name);
          return null;
        },
        already: () => false,
      });
      expect(results.every(([, r]) => r.kind === 'done')).toBe(true);
      const chain = Array.from({ length: n }, (_, i) => `s${i}`);
      expect(acted).toEqual(direction === 'requires-first' ? chain : chain.reverse());
    },
  );

  /** A random acyclic graph: node i may require only nodes below i. */
  const dag = fc
    .integer({ min: 1, max: 9 })
    .chain((n) =>
      fc.tuple(
        fc.array(fc.array(fc.boolean(), { minLength: n, maxLength: n }), { minLength: n, maxLength: n }),
        fc.array(fc.boolean(), { minLength: n, maxLength: n }),
        fc.array(fc.boolean(), { minLength: n, maxLength: n }),
        fc.array(fc.nat(5), { minLength: n, maxLength: n }),
        fc.constantFrom<Direction>('requires-first', 'dependents-first'),
      ),
    );

  it('acts on a node exactly when everything it waits for is done, once, after them (random graphs, failures, finishing order)', async () => {
    await fc.assert(
      fc.asyncProperty(dag, async ([edges, fails, already, delays, direction]) => {
        const names = edges.map((_, i) => `s${i}`);
        const g: Graph = new Map(names.map((n, i) => [n, names.filter((_, j) => j < i && edges[i]![j])]));
        const waitsFor = (n: string): string[] =>
          direction === 'requires-first' ? [...g.get(n)!] : names.filter((m) => g.get(m)!.includes(n));
        let clock = 0;
        const startedAt = new Map<string, number>();
        const finishedAt = new Map<string, number>();
        const acted: string[] = [];
        const results = asObject(
          await runGraph(g, direction, {
            act: async (n) => {
              startedAt.set(n, clock++);
              acted.push(n);
              const i = names.indexOf(n);
              for (let k = 0; k < delays[i]!; k++) await Promise.resolve();
              finishedAt.set(n, clock++);
              return fails[i] ? 'broke' : null;
            },
            already: (n) => already[names.indexOf(n)]!,
          }),
        );
        expect(new Set(acted).size).toBe(acted.length);
        for (const n of names) {
          const i = names.indexOf(n);
          const by = waitsFor(n).filter((w) => results[w]!.kind !== 'done');
          if (by.length === 0) {
            expect(acted).toContain(n);
            // after everything it waits for finished (or, not acted on, was already there)
            for (const w of waitsFor(n)) if (acted.includes(w)) expect(finishedAt.get(w)!).toBeLessThan(startedAt.get(n)!);
            expect(results[n]).toEqual(fails[i] ? { kind: 'failed', problem: 'broke' } : { kind: 'done' });
          } else {
            expect(acted).not.toContain(n);
            expect(results[n]!.kind).toBe(already[i] ? 'done' : 'blocked');
            if (results[n]!.kind === 'blocked') expect(results[n]).toMatchObject({ by });
          }
        }
      }),
      { numRuns: 300, seed: 10 },
    );
  });
});
