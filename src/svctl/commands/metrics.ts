// metrics [NAME...]: every service's (or the named ones') metrics, read
// fresh from the supervise/ folders and the cgroups, like `status` (no lock,
// invalid definitions tolerated: a broken system can still be watched).
import { EXIT_OK } from '../../defaults.js';
import type { Ctx } from '../context.js';
import { collectMetrics } from '../metrics/collect.js';

/** Prints the metrics once (for node_exporter's textfile collector: `svctl metrics > dir/svkit.prom.tmp && mv ...`). */
export const cmdMetrics = (ctx: Ctx, names: readonly string[]): number => {
  ctx.out(collectMetrics(ctx, names).replace(/\n$/, ''));
  return EXIT_OK;
};
