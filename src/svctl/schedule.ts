// Running a dependency graph in order, the one scheduler of `up` and `down`
// (and boot, through them): each node is acted on as soon as the nodes it
// waits for have succeeded (for `requires-first`: what it requires; for
// `dependents-first`: what requires it), so independent nodes run
// concurrently and nothing waits for a whole level. A node whose
// predecessors did not all succeed is not acted on: it counts as a success
// only if it is already where the action would bring it, else as blocked,
// and whatever waits for it is blocked in turn. Pure logic: the actions do
// the I/O.
import { type Graph, reverse, startOrder } from '../graph.js';

/** `requires-first`: bring up (a node after what it requires); `dependents-first`: bring down (after what requires it). */
export type Direction = 'requires-first' | 'dependents-first';

export type NodeResult =
  /** Its action succeeded, or, blocked, it was already there. */
  | { kind: 'done' }
  /** Its action failed, saying why. */
  | { kind: 'failed'; problem: string }
  /**
   * Not acted on: `by` are its predecessors that did not succeed (in the
   * graph's order), `causes` the nodes whose own action failed behind them
   * (sorted, each once).
   */
  | { kind: 'blocked'; by: string[]; causes: string[] };

export interface NodeSteps {
  /** Brings one node where it should be; resolves with null, or the line saying why it did not get there. */
  act(name: string): Promise<string | null>;
  /** For a node not acted on because a predecessor failed: already where `act` would bring it, so a success. */
  already(name: string): boolean;
}

/**
 * Runs `steps` over every node of `g` (an acyclic "a requires b" graph) in
 * `direction`. Resolves once every node is settled, with one result per
 * node in the order the nodes were scheduled (start order, or its reverse).
 */
export const runGraph = async (g: Graph, direction: Direction, steps: NodeSteps): Promise<Array<[string, NodeResult]>> => {
  const before = direction === 'requires-first' ? g : reverse(g);
  const order = direction === 'requires-first' ? startOrder(g) : startOrder(g).reverse();
  const results = new Map<string, Promise<NodeResult>>();
  for (const name of order) {
    const preds = before.get(name) ?? [];
    results.set(
      name,
      Promise.all(preds.map((p) => results.get(p)!)).then(async (settled): Promise<NodeResult> => {
        const by = preds.filter((_, i) => settled[i]!.kind !== 'done');
        if (by.length > 0) {
          if (steps.already(name)) return { kind: 'done' };
          const causes = settled.flatMap((r, i) => (r.kind === 'failed' ? [preds[i]!] : r.kind === 'blocked' ? r.causes : []));
          return { kind: 'blocked', by, causes: [...new Set(causes)].sort() };
        }
        const problem = await steps.act(name);
        return problem === null ? { kind: 'done' } : { kind: 'failed', problem };
      }),
    );
  }
  const settled = await Promise.all(order.map((n) => results.get(n)!));
  return order.map((n, i) => [n, settled[i]!]);
};
