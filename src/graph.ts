// The `requires` graph as a pure value: start levels, cycles (as paths a user
// can read), the closure of what named services require and of what requires
// them. No I/O here; src/scan.ts builds the graph from the scan directory.
// Every walk is iterative (an explicit stack or queue): a chain of 20,000
// services must not overflow the call stack.

/** name -> the names it requires. Every name a list mentions is also a key. */
export type Graph = ReadonlyMap<string, readonly string[]>;

const sorted = (names: Iterable<string>): string[] => [...names].sort();

/** The graph restricted to `names` (edges leaving the set are dropped). */
export const subgraph = (g: Graph, names: Iterable<string>): Graph => {
  const keep = new Set(names);
  const sub = new Map<string, string[]>();
  for (const n of sorted(keep))
    sub.set(
      n,
      (g.get(n) ?? []).filter((r) => keep.has(r)),
    );
  return sub;
};

/** `g` with every edge turned around: name -> the names that require it. */
export const reverse = (g: Graph): Graph => {
  const rev = new Map<string, string[]>();
  for (const n of g.keys()) rev.set(n, []);
  for (const [n, reqs] of g) for (const r of reqs) rev.get(r)?.push(n);
  for (const list of rev.values()) list.sort();
  return rev;
};

/** `names` and everything reachable from them along the edges of `g`. */
const reach = (g: Graph, names: Iterable<string>): Set<string> => {
  const seen = new Set<string>();
  const todo = [...names];
  for (let n = todo.pop(); n !== undefined; n = todo.pop()) {
    if (seen.has(n)) continue;
    seen.add(n);
    for (const r of g.get(n) ?? []) todo.push(r);
  }
  return seen;
};

/** The named services and everything they require, transitively. */
export const closure = (g: Graph, names: Iterable<string>): Set<string> => reach(g, names);

/** The named services and everything that requires them, transitively. */
export const dependents = (g: Graph, names: Iterable<string>): Set<string> => reach(reverse(g), names);

/**
 * The strongly connected components of `g` that hold a cycle (two or more
 * services, or one that requires itself), each as a set of names.
 */
export const cyclicComponents = (g: Graph): string[][] => {
  // Tarjan's algorithm, iterative so a deep graph cannot overflow the stack.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  for (const root of sorted(g.keys())) {
    if (index.has(root)) continue;
    const frames: { node: string; next: number }[] = [{ node: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const reqs = g.get(frame.node) ?? [];
      if (frame.next < reqs.length) {
        const r = reqs[frame.next++]!;
        if (!index.has(r)) {
          index.set(r, counter);
          low.set(r, counter++);
          stack.push(r);
          onStack.add(r);
          frames.push({ node: r, next: 0 });
        } else if (onStack.has(r)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(r)!));
        }
        continue;
      }
      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const comp: string[] = [];
        for (;;) {
          const n = stack.pop()!;
          onStack.delete(n);
          comp.push(n);
          if (n === frame.node) break;
        }
        const selfLoop = comp.length === 1 && reqs.includes(frame.node);
        if (comp.length > 1 || selfLoop) components.push(comp.sort());
      }
    }
  }
  return components;
};

/**
 * Every cycle of `g`, one per strongly connected component, each as the path
 * `[a, b, c, a]` ("a requires b"), starting at the component's smallest name.
 */
export const findCycles = (g: Graph): string[][] =>
  cyclicComponents(g)
    .map((comp) => cyclePath(g, new Set(comp)))
    .sort((a, b) => (a[0]! < b[0]! ? -1 : 1));

/**
 * `g` without the edges inside its cycles: what is left is acyclic (the
 * edges between components), so it can still be ordered. For stopping, where
 * a cycle must never be a reason to leave anything running.
 */
export const withoutCycles = (g: Graph): Graph => {
  const componentOf = new Map<string, number>();
  for (const [i, comp] of cyclicComponents(g).entries()) for (const n of comp) componentOf.set(n, i);
  if (componentOf.size === 0) return g;
  const out = new Map<string, string[]>();
  for (const [n, reqs] of g) {
    const c = componentOf.get(n);
    out.set(n, c === undefined ? [...reqs] : reqs.filter((r) => componentOf.get(r) !== c));
  }
  return out;
};

/** The shortest cycle through the smallest name of a strongly connected component. */
const cyclePath = (g: Graph, comp: ReadonlySet<string>): string[] => {
  const start = sorted(comp)[0]!;
  const prev = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const n = queue[i]!;
    for (const r of g.get(n) ?? []) {
      if (!comp.has(r)) continue;
      if (r === start) {
        const path = [start];
        for (let p: string | undefined = n; p !== undefined && p !== start; p = prev.get(p)) path.unshift(p);
        path.unshift(start);
        return path;
      }
      if (!prev.has(r)) {
        prev.set(r, n);
        queue.push(r);
      }
    }
  }
  return [start, start]; // unreachable for a real component
};

/** "a -> b -> c -> a" */
export const formatCycle = (path: readonly string[]): string => path.join(' -> ');

/**
 * Start order for an acyclic graph: a service is on the level after the
 * highest of the services it requires, so each level can start together once
 * the levels before it are ready. Names are sorted within a level.
 */
export const levels = (g: Graph): string[][] => {
  // Kahn's algorithm: a service is placed once everything it requires is.
  const waiting = new Map<string, number>();
  const requiredBy = new Map<string, string[]>();
  for (const n of g.keys()) requiredBy.set(n, []);
  for (const [n, reqs] of g) {
    const known = new Set(reqs.filter((r) => g.has(r)));
    waiting.set(n, known.size);
    for (const r of known) requiredBy.get(r)!.push(n);
  }
  const level = new Map<string, number>();
  const ready = sorted(g.keys()).filter((n) => waiting.get(n) === 0);
  for (const n of ready) level.set(n, 0);
  for (let i = 0; i < ready.length; i++) {
    const n = ready[i]!;
    for (const d of requiredBy.get(n)!) {
      level.set(d, Math.max(level.get(d) ?? 0, level.get(n)! + 1));
      const left = waiting.get(d)! - 1;
      waiting.set(d, left);
      if (left === 0) ready.push(d);
    }
  }
  if (ready.length < g.size) {
    const stuck = sorted(g.keys()).filter((n) => waiting.get(n)! > 0);
    throw new Error(`dependency cycle among ${stuck.slice(0, 5).join(', ')}${stuck.length > 5 ? ', ...' : ''}`);
  }
  const out: string[][] = [];
  for (const [n, l] of level) (out[l] ??= []).push(n);
  return out.map((names) => names.sort());
};

/** Dependency order (requirements first) of an acyclic graph. */
export const startOrder = (g: Graph): string[] => levels(g).flat();

/** Graphviz: one node per service, an edge "a" -> "b" for "a requires b". */
export const toDot = (g: Graph): string => {
  const lines = ['digraph svkit {'];
  for (const n of sorted(g.keys())) lines.push(`  "${n}";`);
  for (const n of sorted(g.keys())) for (const r of sorted(g.get(n) ?? [])) lines.push(`  "${n}" -> "${r}";`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
};
