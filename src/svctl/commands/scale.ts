// svctl scale TEMPLATE@ N: the template gets N instances up. The numbered
// instances 1 to N are created where missing and brought up as by `up`; the
// others are stopped and removed as by `remove`, one at a time, highest
// numbers first and instances with other names last, and only once the
// wanted ones are up (a pool never shrinks below what was asked for because
// its new members failed). Exit codes as `up`.
import { EXIT_USAGE } from '../../defaults.js';
import { SvError } from '../../errors.js';
import { closure } from '../../graph.js';
import { splitInstance } from '../../scan.js';
import { type Ctx, globalDeadline, loadScan } from '../context.js';
import { bringUp, type UpWant } from '../engine/bringup.js';
import { byInstance, createPlanned, instancesOf, prepareWithInstances, removeInstances } from '../engine/instances.js';
import { withScanLock } from './changing.js';

/** The most instances scale makes: each is a supervisor process. */
export const MAX_SCALE = 1000;

/** The surplus in the order it goes: numbered instances from the highest down, then the others by name. */
export const surplusOrder = (names: readonly string[]): string[] => {
  const numbered = (n: string) => /^\d+$/.test(splitInstance(n)?.instance ?? '');
  return [...names.filter(numbered).sort(byInstance).reverse(), ...names.filter((n) => !numbered(n)).sort(byInstance)];
};

export const cmdScale = async (ctx: Ctx, template: string, count: string): Promise<number> => {
  const usage = (why: string) => new SvError('svkit.usage', EXIT_USAGE, `scale: ${why}`);
  if (!/^\d{1,4}$/.test(count) || Number(count) > MAX_SCALE)
    throw usage(`expected a number of instances from 0 to ${MAX_SCALE}, got "${count}"`);
  const scan0 = loadScan(ctx, true);
  if (!scan0.entries.some((e) => e.template && e.name === template)) {
    throw usage(
      template.endsWith('@') ? `${template}: no template ${template} in ${scan0.dir}` : `expected a template (NAME@), got "${template}"`,
    );
  }
  const wanted = Array.from({ length: Number(count) }, (_, i) => `${template}${i + 1}`);
  const surplus = surplusOrder(instancesOf(scan0, template).filter((n) => !wanted.includes(n)));
  const p = prepareWithInstances(scan0, wanted);
  return withScanLock(ctx, p.scan, async () => {
    const deadline = globalDeadline(ctx);
    const made = createPlanned(p.scan, closure(p.scan.graph, wanted));
    if (!made.ok) return made.problems;
    const { scan } = made;
    const targets = new Map<string, UpWant>([...closure(scan.graph, wanted)].map((n) => [n, 'up']));
    const failed = wanted.length > 0 ? await bringUp(scan, targets, deadline, {}, ctx.progress.emit) : [];
    if (failed.length > 0)
      return [...failed, ...(surplus.length > 0 ? [`${template}: ${surplus.join(', ')} not removed: the pool is not up`] : [])];
    const problems: string[] = [];
    for (const name of surplus) {
      const t0 = Date.now();
      const left = await removeInstances(scan, [name], deadline, ctx.progress.emit);
      if (left.length > 0) problems.push(...left);
      else ctx.progress.emit({ kind: 'removed', name, ms: Date.now() - t0, at: Date.now() });
    }
    return problems;
  });
};
