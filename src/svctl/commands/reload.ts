// svctl reload NAME...: each named service's running supervisor reads its
// folder again and applies what changed (src/svctl/engine/reload.ts): the
// scan directory is validated first (invalid: exit 2, nothing changed), a
// service without a supervisor is exit 1, naming it. What requires the
// services is left alone. `worker@*` names every instance of worker@.
import { EXIT_OK, EXIT_USAGE } from '../../defaults.js';
import { SvError } from '../../errors.js';
import { type Ctx, globalDeadline, loadScan, namedEntries } from '../context.js';
import { expandPools } from '../engine/instances.js';
import { driveReload, type Reloaded } from '../engine/reload.js';
import { withScanLock } from './changing.js';

/** One service in `--json`: what held and whether it restarted, or why it was not reloaded. */
export const reloadJson = (r: Reloaded) => ({
  name: r.name,
  reloaded: r.problem === null,
  live: r.record?.live ?? [],
  restart: r.record?.restart ?? [],
  restarted: r.record?.restarted ?? false,
  newSupervisor: r.record?.newSupervisor ?? [],
  readyMs: r.readyMs,
  error: r.problem,
});

export const cmdReload = async (ctx: Ctx, named: readonly string[]): Promise<number> => {
  if (named.length === 0) throw new SvError('svkit.usage', EXIT_USAGE, 'reload: name at least one service');
  const scan = loadScan(ctx, true);
  const entries = namedEntries(scan, expandPools(scan, named));
  if (entries.length === 0) {
    if (ctx.json) ctx.out('[]');
    return EXIT_OK; // worker@* with no instance: nothing to reload
  }
  return withScanLock(ctx, scan, async () => {
    const deadline = globalDeadline(ctx);
    const results = await Promise.all(entries.map((e) => driveReload(scan.services.get(e.name)!, deadline, ctx.progress.emit)));
    if (ctx.json) ctx.out(JSON.stringify(results.map(reloadJson), null, 2));
    return results.flatMap((r) => (r.problem ? [r.problem] : []));
  });
};
