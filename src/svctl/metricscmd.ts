// metrics [NAME...]: every service's (or the named ones') metrics, read
// fresh from the supervise/ folders and the cgroups, like `status` (no lock,
// invalid definitions tolerated: a broken system can still be watched).
import { EXIT_OK } from '../defaults.js';
import { cgroupDirs, type CgroupDirs, isCgroup2 } from '../os/cgroup.js';
import { readUsage } from '../os/usage.js';
import { servicePaths } from '../paths.js';
import { type Ctx, defaultEntries, loadScan, namedEntries } from './context.js';
import { metricsRow, metricsText } from './metrics.js';
import { showStatus } from './status.js';

/**
 * The service's cgroups. svctl computes them below its own cgroup, which is
 * where svrun made them unless svctl itself runs in another one: as a
 * service (the metrics endpoint of services.example/) it sits in its own
 * service's cgroup. Then the v2 cgroup svrun recorded in status.json is read
 * instead, but only once it is a real cgroup v2 directory named exactly as
 * svkit names this service's (status.json is untrusted; this only reads).
 */
const usageDirs = (name: string, superviseDir: string, recorded: unknown): CgroupDirs => {
  const dirs = cgroupDirs(name, superviseDir);
  if (typeof recorded !== 'string' || recorded === dirs.v2 || dirs.v2 === null) return dirs;
  const ours = dirs.v2.slice(dirs.v2.lastIndexOf('/'));
  return recorded.endsWith(ours) && isCgroup2(recorded) ? { ...dirs, v2: recorded } : dirs;
};

/** The exposition text, or an exit code once the problems are printed through ctx.err. */
export const collectMetrics = (ctx: Ctx, names: readonly string[]): string | number => {
  const scan = loadScan(ctx, false);
  if (typeof scan === 'number') return scan;
  const entries = names.length > 0 ? namedEntries(ctx, scan, names) : defaultEntries(scan, true);
  if (typeof entries === 'number') return entries;
  return metricsText(
    entries.map((e) => {
      const s = showStatus(e, scan);
      return metricsRow(s, readUsage(usageDirs(e.name, servicePaths(e.dir, e.name).supervise, s.cgroup)));
    }),
  );
};

/** Prints the metrics once (for node_exporter's textfile collector: `svctl metrics > dir/svkit.prom.tmp && mv ...`). */
export const cmdMetrics = (ctx: Ctx, names: readonly string[]): number => {
  const text = collectMetrics(ctx, names);
  if (typeof text === 'number') return text;
  ctx.out(text.replace(/\n$/, ''));
  return EXIT_OK;
};
