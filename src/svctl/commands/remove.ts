// svctl remove NAME@INST...: stops the instances (and what names them
// explicitly, as down does) and deletes their folders; exit 2 for a name
// that is not an existing instance, nothing changed.
import { EXIT_USAGE } from '../../defaults.js';
import { SvError } from '../../errors.js';
import { type Ctx, globalDeadline, loadScan } from '../context.js';
import { removable, removeInstances } from '../engine/instances.js';
import { withScanLock } from './changing.js';

export const cmdRemove = async (ctx: Ctx, names: readonly string[]): Promise<number> => {
  if (names.length === 0) throw new SvError('svkit.usage', EXIT_USAGE, 'remove: name at least one instance');
  const scan = loadScan(ctx, true);
  const found = removable(scan, names);
  return withScanLock(ctx, scan, () => removeInstances(scan, found, globalDeadline(ctx), ctx.progress.emit));
};
