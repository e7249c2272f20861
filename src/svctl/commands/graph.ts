// svctl graph [NAME...] [--dot]: the start order, one level per line (or
// Graphviz, or JSON levels); reads the scan directory, changes nothing.
import { EXIT_OK } from '../../defaults.js';
import { closure, levels, subgraph, toDot } from '../../graph.js';
import { type Ctx, loadScan, namedEntries } from '../context.js';

/** graph [NAME...]: levels (or Graphviz) of the named services and what they require. */
export const cmdGraph = (ctx: Ctx, names: readonly string[], dot: boolean): number => {
  const scan = loadScan(ctx, true);
  let g = scan.graph;
  if (names.length > 0) {
    const entries = namedEntries(scan, names);
    g = subgraph(
      g,
      closure(
        g,
        entries.map((e) => e.name),
      ),
    );
  }
  if (dot) ctx.out(toDot(g).replace(/\n$/, ''));
  else if (ctx.json) ctx.out(JSON.stringify(levels(g)));
  else for (const level of levels(g)) ctx.out(level.join(' '));
  return EXIT_OK;
};
