// Every service's (or the named ones') metrics, read fresh from the
// supervise/ folders and the cgroups, like `status` (no lock, invalid
// definitions tolerated: a broken system can still be watched).
import { readUsage } from '../../os/usage.js';
import { servicePaths } from '../../supervise/paths.js';
import { type Ctx, defaultEntries, loadEntries, namedEntries } from '../context.js';
import { entryStatus } from '../engine/observe.js';
import { cgroupsOf } from '../engine/usage.js';
import { metricsRow, metricsText } from './prometheus.js';

/** The exposition text; throws (an SvError) when the scan directory or a name is not there. */
export const collectMetrics = (ctx: Ctx, names: readonly string[]): string => {
  // the folders only, as status reads them: a definition is read only where a status needs its type
  const scan = loadEntries(ctx);
  const entries = names.length > 0 ? namedEntries(scan, names) : defaultEntries(scan, true);
  return metricsText(
    entries.map((e) => {
      const s = entryStatus(e, scan);
      return metricsRow(s, readUsage(cgroupsOf(s, servicePaths(e.dir, e.name).supervise)));
    }),
  );
};
