// Running a dependency graph in order, the one scheduler of `up` and `down`
// (and boot, through them): each node is acted on as soon as the nodes it
// waits for have succeeded (for `requires-first`: what it requires; for
// `dependents-first`: what requires it), so independent nodes run
// concurrently and nothing waits for a whole level. A node whose
// predecessors did not all succeed is not acted on: it counts as a success
// only if it is already where the action would bring it, else as blocked,
// and whatever waits for it is blocked in turn. Pure logic: the actions do
// the I/O.
import { type Graph, reverse, startOrder } from '../../graph.js';

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
  /** Told, as the run begins, of every node in the order scheduled, with the predecessors it waits for (for progress reports). */
  waiting?(name: string, on: string[]): void;
  /** Told of every node once settled; `acted`: its action ran (else it was blocked, or already there). */
  settled?(name: string, result: NodeResult, acted: boolean): void;
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
  const settle = (name: string, result: NodeResult, acted: boolean): NodeResult => {
    steps.settled?.(name, result, acted);
    return result;
  };
  for (const name of order) {
    const preds = before.get(name) ?? [];
    steps.waiting?.(name, [...preds]);
    results.set(
      name,
      Promise.all(preds.map((p) => results.get(p)!)).then(async (settled): Promise<NodeResult> => {
        const by = preds.filter((_, i) => settled[i]!.kind !== 'done');
        if (by.length > 0) {
          if (steps.already(name)) return settle(name, { kind: 'done' }, false);
          const causes = settled.flatMap((r, i) => (r.kind === 'failed' ? [preds[i]!] : r.kind === 'blocked' ? r.causes : []));
          return settle(name, { kind: 'blocked', by, causes: [...new Set(causes)].sort() }, false);
        }
        const problem = await steps.act(name);
        return settle(name, problem === null ? { kind: 'done' } : { kind: 'failed', problem }, true);
      }),
    );
  }
  const settled = await Promise.all(order.map((n) => results.get(n)!));
  return order.map((n, i) => [n, settled[i]!]);
};
