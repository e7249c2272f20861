// Instances of templates (pools of identical workers): `svctl up worker@3`
// creates the folder worker@3/ from the template worker@/ (each top-level
// file a relative symlink to the template's; log/ its own folder with the
// template's log files linked; supervise/ never copied), and `svctl remove
// worker@3` stops it and deletes the folder. Missing instances are planned
// first (read as if they existed, see readScan's `plan`) so that the whole
// result is validated before anything is created.
import { lstatSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT_USAGE } from '../../defaults.js';
import { collectErrors, errorText, type Result, SvError } from '../../errors.js';
import { CURRENT, isRotatedName } from '../../log/format.js';
import { closure, dependents, type Graph } from '../../graph.js';
import { INSTANCE_RE, isDirectory, lookup, readScan, type Scan, type ScanEntries, splitInstance } from '../../scan.js';
import { notDown } from './bringdown.js';
import { noProgress, type ProgressSink } from '../output/progress.js';
import { hasLeftovers, observe } from './observe.js';
import { readStopPlan } from './stopplan.js';

const exists = (path: string): boolean => {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
};

export const templatesOf = (scan: ScanEntries): Set<string> => new Set(scan.entries.filter((e) => e.template).map((e) => e.name));

/** The template `name` is an instance of, when that template exists; else null (a plain service, or a template). */
export const templateOf = (name: string, templates: ReadonlySet<string>): string | null => {
  const i = splitInstance(name);
  return i && templates.has(i.template) ? i.template : null;
};

/** What svrun and the built-in logger keep in log/: the instance's own, never linked. */
const isLogState = (file: string): boolean => file === 'supervise' || file === CURRENT || isRotatedName(file);

/**
 * Creates the instance folder `name` from its template, complete or not at
 * all (built under a dot name, which scans ignore, then renamed). Links are
 * relative (`../worker@/run`) so a moved scan directory keeps working.
 * Resolves with null (also when the folder exists already) or an error line.
 */
export const createInstance = (scanDir: string, name: string): string | null => {
  const dest = join(scanDir, name);
  if (exists(dest)) return null;
  const { template } = splitInstance(name)!;
  const tdir = join(scanDir, template);
  const tmp = join(scanDir, `.${name}.new.${process.pid}`);
  try {
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    for (const file of readdirSync(tdir).sort()) {
      if (file === 'supervise') continue;
      if (file === 'log' && isDirectory(join(tdir, file))) {
        mkdirSync(join(tmp, 'log'));
        for (const f of readdirSync(join(tdir, 'log')).sort()) {
          if (!isLogState(f)) symlinkSync(join('..', '..', template, 'log', f), join(tmp, 'log', f));
        }
        continue;
      }
      symlinkSync(join('..', template, file), join(tmp, file));
    }
    renameSync(tmp, dest);
    return null;
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (exists(dest)) return null; // created by someone else meanwhile
    return `${name}: cannot create the instance folder from ${template}: ${errorText(err)}`;
  }
};

/**
 * Deletes an instance folder (and its state under $SVKIT_STATE_DIR): renamed
 * to a dot name first, so no one sees it half-deleted. Links are removed,
 * never followed, so the template is untouched. Null or an error line.
 */
export const deleteInstance = (scanDir: string, name: string, stateDir = process.env.SVKIT_STATE_DIR): string | null => {
  const trash = join(scanDir, `.${name}.removed.${process.pid}`);
  try {
    rmSync(trash, { recursive: true, force: true });
    renameSync(join(scanDir, name), trash);
    rmSync(trash, { recursive: true, force: true });
    if (stateDir) rmSync(join(stateDir, name), { recursive: true, force: true });
    return null;
  } catch (err) {
    return `${name}: stopped, but its folder could not be deleted: ${errorText(err)}`;
  }
};

/** Missing instances (scan.pending) that the services `names` reach through requires. */
const neededPending = (scan: Scan, names: Iterable<string>): string[] => {
  const need = new Set<string>();
  for (const n of closure(scan.graph, names)) for (const r of scan.services.get(n)?.requires ?? []) if (scan.pending.has(r)) need.add(r);
  return [...need].sort();
};

export interface Prepared {
  /** The scan as it will be once `scan.planned` exist. */
  scan: Scan;
  names: string[];
}

/**
 * For up, once and restart, given the validated scan directory: the named services (default: every service
 * without a down file), where a missing instance of an existing template is
 * planned, together with every missing instance that what will be started
 * requires (`reachOf`: what else will be started). Validates
 * the directory as it will be; throws naming every problem (exit 2).
 */
export const prepareWithInstances = (
  scan0: Scan,
  names: readonly string[],
  reachOf: (scan: Scan, names: string[]) => Iterable<string> = (_, n) => n,
): Prepared => {
  const templates = templatesOf(scan0);
  const plan = new Set<string>();
  const chosen = names.length > 0 ? [...new Set(names)] : scan0.entries.filter((e) => !e.template && !e.down).map((e) => e.name);
  collectErrors(names.length > 0 ? chosen : [], (name) => {
    const i = splitInstance(name);
    if (i === null || scan0.entries.some((e) => e.name === name)) lookup(scan0, name);
    else if (!INSTANCE_RE.test(i.instance)) {
      throw new SvError('svkit.usage', EXIT_USAGE, `${name}: invalid instance name "${i.instance}" (allowed: ${INSTANCE_RE.source})`);
    } else if (!templates.has(i.template)) {
      throw new SvError(
        'svkit.missing-service',
        EXIT_USAGE,
        `${name}: no such service in ${scan0.dir}, and no template ${i.template} to create it from`,
      );
    } else plan.add(name);
  });
  for (;;) {
    let scan: Scan;
    try {
      scan = plan.size > 0 ? readScan(scan0.dir, plan) : scan0;
    } catch (err) {
      throw new SvError('svkit.usage', EXIT_USAGE, errorText(err));
    }
    const need = neededPending(scan, reachOf(scan, chosen)).filter((n) => !plan.has(n));
    if (need.length > 0) {
      for (const n of need) plan.add(n);
      continue;
    }
    // only what the planned instances add can be wrong here (a cycle through one)
    if (scan.errors.length > 0) throw new SvError('svkit.invalid', EXIT_USAGE, scan.errors);
    return { scan, names: chosen };
  }
};

/**
 * Under the scan lock: creates the planned instances, and those of `wanted`
 * whose folder went away since the scan was read (a `remove` that held the
 * lock before us), then reads the scan directory again: the instances are
 * now services like any other. The fresh scan, or the lines saying what
 * went wrong.
 */
export const createPlanned = (scan: Scan, wanted: Iterable<string> = []): Result<{ scan: Scan }> => {
  const templates = templatesOf(scan);
  const gone = [...wanted].filter((n) => templateOf(n, templates) !== null && !exists(join(scan.dir, n)));
  const create = [...new Set([...scan.planned, ...gone])].sort();
  if (create.length === 0) return { ok: true, scan };
  const problems: string[] = [];
  for (const name of create) {
    const p = createInstance(scan.dir, name);
    if (p) problems.push(p);
  }
  if (problems.length > 0) return { ok: false, problems };
  try {
    const again = readScan(scan.dir);
    return again.errors.length > 0 ? { ok: false, problems: again.errors } : { ok: true, scan: again };
  } catch (err) {
    return { ok: false, problems: [errorText(err)] };
  }
};

/**
 * The graph without the edges that reach `leaving` only through `worker@*`:
 * a pool member leaving does not stop the pool's users. Edges of services
 * that name an instance explicitly stay.
 */
const withoutPoolEdges = (scan: Scan, leaving: ReadonlySet<string>): Graph => {
  const g = new Map<string, string[]>();
  for (const [n, reqs] of scan.graph) {
    const named = new Set(scan.services.get(n)?.requires ?? []);
    g.set(
      n,
      reqs.filter((r) => !leaving.has(r) || named.has(r)),
    );
  }
  return g;
};

/** remove's names: existing instances of existing templates; throws naming every problem (exit 2). */
export const removable = (scan: Scan, names: readonly string[]): string[] => {
  const templates = templatesOf(scan);
  return collectErrors(new Set(names), (name) => {
    const e = scan.entries.find((x) => x.name === name);
    const refuse = (why: string) => new SvError('svkit.usage', EXIT_USAGE, why);
    if (e?.template) throw refuse(`${name}: is a template; remove takes instances (${name}NAME)`);
    if (!e) throw refuse(splitInstance(name) ? `${name}: no such instance in ${scan.dir}` : `${name}: no such service in ${scan.dir}`);
    if (templateOf(name, templates) === null) throw refuse(`${name}: not an instance of a template; use svctl down`);
    return name;
  });
};

/**
 * Under the scan lock: stops the instances (after the services that name
 * them explicitly, as down does; users through `worker@*` stay up) and
 * deletes the folders of those that stopped. One line per problem.
 */
export const removeInstances = async (
  scan: Scan,
  names: readonly string[],
  deadline: number | null,
  progress: ProgressSink = noProgress,
): Promise<string[]> => {
  // another svctl may have removed some while we waited for the lock
  const leaving = new Set(names.filter((n) => exists(join(scan.dir, n))));
  const stop = [...dependents(withoutPoolEdges(scan, leaving), leaving)].filter((n) => scan.services.has(n));
  const failed = await notDown(readStopPlan(scan), stop, deadline, progress);
  const problems = [...failed.values()];
  for (const name of [...leaving].sort()) {
    const o = observe(name, join(scan.dir, name));
    if (failed.has(name) || o.supervised || hasLeftovers(o.recorded, o)) {
      problems.push(`${name}: not removed (not down); its folder is kept`);
      continue;
    }
    const p = deleteInstance(scan.dir, name);
    if (p) problems.push(p);
  }
  return problems;
};

/** Instances in a pool's order: numbered ones by number, then the others by name (`worker@2` before `worker@10` before `worker@blue`). */
export const byInstance = (a: string, b: string): number => {
  const [x, y] = [splitInstance(a)?.instance ?? a, splitInstance(b)?.instance ?? b];
  const [nx, ny] = [/^\d+$/.test(x), /^\d+$/.test(y)];
  if (nx && ny && Number(x) !== Number(y)) return Number(x) - Number(y);
  if (nx !== ny) return nx ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
};

/** The existing instances of the template `template` (`worker@`), in a pool's order. */
export const instancesOf = (scan: ScanEntries, template: string): string[] =>
  scan.entries
    .filter((e) => !e.template && templateOf(e.name, new Set([template])) === template)
    .map((e) => e.name)
    .sort(byInstance);

/**
 * `worker@*` stands for every existing instance of the template `worker@`
 * (none: nothing); other names are kept as they are, each name once. Throws
 * (exit 2) for a pattern whose template does not exist.
 */
export const expandPools = (scan: ScanEntries, names: readonly string[]): string[] => {
  const templates = templatesOf(scan);
  const out = collectErrors(names, (name): string[] => {
    if (!name.endsWith('@*')) return [name];
    const template = name.slice(0, -1);
    if (!templates.has(template)) throw new SvError('svkit.missing-service', EXIT_USAGE, `${name}: no template ${template} in ${scan.dir}`);
    return instancesOf(scan, template);
  });
  return [...new Set(out.flat())];
};
