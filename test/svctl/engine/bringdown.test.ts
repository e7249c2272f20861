// svctl's stop engine (src/svctl/engine/bringdown.ts) on what it can do
// without a supervisor: a long chain with nothing running, ordered and walked
// (the walk's depth, 20,000 and more: runGraph in schedule.test.ts). Stopping
// real supervisors: test/svctl/commands/down.proc.test.ts.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dependents } from '../../../src/graph.js';
import { bringDown } from '../../../src/svctl/engine/bringdown.js';
import { stopPlanOf } from '../../../src/svctl/engine/stopplan.js';

describe('a dependency chain of 2,000 services', () => {
  it('bringDown orders and walks it with nothing running', async () => {
    const n = 2_000;
    const inputs = Array.from({ length: n }, (_, i) => ({
      name: `s${i}`,
      dir: join('/nonexistent/svkit-scan', `s${i}`), // no folder, no supervise/: nothing runs
      def: null,
      requires: i > 0 ? [`s${i - 1}`] : [],
      running: null,
    }));
    const plan = stopPlanOf(inputs);
    const all = dependents(plan.graph, ['s0']);
    expect(all.size).toBe(n);
    expect(await bringDown(plan, all, null)).toEqual([]);
  });
});
