// Reads a scan directory: every service folder parsed with the module svrun
// uses, every `requires` resolved, cycles found. All problems are collected,
// one line each, so svctl can refuse the whole directory before it changes
// anything (exit 2).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { findCycles, formatCycle, type Graph } from './graph.js';
import { EXIT_USAGE } from './defaults.js';
import { capProblems, printable, quote, SvError } from './errors.js';
import { NAME_RE, parseList, readService, type ServiceDef } from './servicedir.js';
import { readSettingsFile } from './settingsfile.js';

export interface ScanEntry {
  name: string;
  /** Absolute path of the service folder. */
  dir: string;
  /** Has a `down` marker file. */
  down: boolean;
  /** `worker@`: never started itself. */
  template: boolean;
}

export interface Scan {
  dir: string;
  /** Every folder with a valid name, templates included, sorted by name. */
  entries: ScanEntry[];
  /** Valid definitions of the services (templates excluded). */
  services: Map<string, ServiceDef>;
  /** requires, with `worker@*` expanded to the existing instances; services only. */
  graph: Graph;
  /** One line per problem (no program prefix); empty when the directory is usable. */
  errors: string[];
  /**
   * Instances that some `requires` names but that do not exist yet, their
   * template being there: valid, and created by `svctl up` when needed. They
   * are not in `services` or `graph` (edges to them are left out) unless
   * planned.
   */
  pending: Set<string>;
  /** Instances that do not exist yet but were planned (readScan's `plan`): in `services` and `graph` as if they existed. */
  planned: Set<string>;
  /**
   * The requires of every service folder, valid or not, as far as its
   * `requires` file could be read (resolved like `graph`, edges to invalid
   * folders kept): stopping orders by this, never refusing (docs/services.md
   * "Stopping never waits on valid folders"). May hold cycles.
   */
  anyRequires: Graph;
  /** Each invalid service folder's problems (the lines of `errors` about it), by folder name: who is at fault, without parsing the text. */
  problems: Map<string, string[]>;
}

export const DEFAULT_SCAN_DIR = './services';

/** -d/--dir, else $SVDIR, else ./services; always absolute. */
export const scanDirFrom = (option: string | undefined, env = process.env): string => resolve(option ?? (env.SVDIR || DEFAULT_SCAN_DIR));

export const isDirectory = (path: string): boolean => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

/** Service folder names: directories whose names do not begin with `.`, sorted. */
const folderNames = (dir: string): string[] =>
  readdirSync(dir)
    .filter((n) => !n.startsWith('.') && isDirectory(join(dir, n)))
    .sort();

/** An instance's name after `@`: svkit's name rule without `@`, so `worker@3` has one template. */
export const INSTANCE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** `worker@3` -> template `worker@`, instance `3` (split at the first `@`); null for a template or a name without `@`. */
export const splitInstance = (name: string): { template: string; instance: string } | null => {
  const at = name.indexOf('@');
  if (at < 1 || at === name.length - 1) return null;
  return { template: name.slice(0, at + 1), instance: name.slice(at + 1) };
};

/** Whether the missing `name` can be created: an instance name, valid after `@`, of an existing template. */
export const creatable = (name: string, templates: ReadonlySet<string>): boolean => {
  const i = splitInstance(name);
  return i !== null && INSTANCE_RE.test(i.instance) && templates.has(i.template);
};

/** The definition an instance will have once created: the template's, with paths in the instance folder. */
const instanceDef = (t: ServiceDef, dir: string, name: string): ServiceDef => {
  const moved = (p: string | null) => (p === null ? null : join(dir, relative(t.dir, p)));
  return {
    ...t,
    name,
    dir,
    run: join(dir, relative(t.dir, t.run)),
    finish: moved(t.finish),
    stop: moved(t.stop),
    check: moved(t.check),
    logRun: moved(t.logRun),
    template: false,
    instance: splitInstance(name)!.instance,
  };
};

/** The requires of a folder that failed validation (its problems, this file's too, are reported by readService). */
const requiresOf = (svcDir: string): string[] => {
  const r = readSettingsFile(join(svcDir, 'requires'));
  return r.kind === 'ok' ? [...new Set(parseList(r.text))] : [];
};

/** The folder names of the scan directory `dir`; throws (one line) when it cannot be read. */
const scanFolders = (dir: string): string[] => {
  try {
    return folderNames(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${printable(dir)}: no such scan directory` : `${printable(dir)}: ${(err as Error).message}`);
  }
};

/** The entries of the folders with a valid name. */
const entriesOf = (dir: string, names: readonly string[]): ScanEntry[] =>
  names
    .filter((name) => NAME_RE.test(name))
    .map((name) => ({ name, dir: join(dir, name), down: existsSync(join(dir, name, 'down')), template: name.endsWith('@') }));

/** A scan directory's folders, none of their definitions read: what status and check look at. */
export type ScanEntries = Pick<Scan, 'dir' | 'entries'>;

/** The entries of readScan, and nothing read inside the folders but `down`; throws like readScan. */
export const readEntries = (dirOption: string): ScanEntries => {
  const dir = resolve(dirOption);
  return { dir, entries: entriesOf(dir, scanFolders(dir)) };
};

/**
 * Throws (with a one-line message) only when the scan directory itself
 * cannot be read. `plan` names instances that do not exist yet to be read as
 * if they did (their template's definition, counted by `worker@*`): the
 * directory as it will be once svctl has created them. Names that cannot be
 * created (see creatable) are ignored.
 */
export const readScan = (dirOption: string, plan: Iterable<string> = []): Scan => {
  const dir = resolve(dirOption);
  const names = scanFolders(dir);
  const errors: string[] = [];
  const problems = new Map<string, string[]>();
  const problem = (name: string, line: string) => {
    errors.push(line);
    problems.set(name, [...(problems.get(name) ?? []), line]);
  };
  const entries = entriesOf(dir, names);
  const templates = new Set(entries.filter((e) => e.template).map((e) => e.name));
  const known = new Set(entries.map((e) => e.name));
  const planned = new Set([...plan].filter((n) => !known.has(n) && creatable(n, templates)).sort());
  const instancesOf = (template: string) => [
    ...entries.filter((e) => !e.template && e.name.startsWith(template)).map((e) => e.name),
    ...[...planned].filter((n) => n.startsWith(template)),
  ];
  const pending = new Set<string>();

  /** requires resolved: `worker@*` expanded, missing instances of a template pending, anything else unknown reported (when `report`). */
  const resolveRequires = (name: string, requires: readonly string[], report: boolean): string[] => {
    const reqs: string[] = [];
    const unknown: string[] = [];
    for (const r of requires) {
      if (r.endsWith('@*')) reqs.push(...instancesOf(r.slice(0, -1)));
      else if (known.has(r) || planned.has(r)) reqs.push(r);
      else if (!NAME_RE.test(r))
        continue; // reported by readService
      else if (creatable(r, templates)) pending.add(r);
      else if (report) {
        const i = splitInstance(r);
        const why =
          i === null ? '' : INSTANCE_RE.test(i.instance) ? ` (no template ${i.template})` : ` (invalid instance name ${quote(i.instance)})`;
        unknown.push(`${name}/requires: unknown service ${quote(r)}${why}`);
      }
    }
    for (const line of capProblems(`${name}/requires`, unknown)) problem(name, line); // a few, then how many more
    return [...new Set(reqs)].sort();
  };

  const services = new Map<string, ServiceDef>();
  const graph = new Map<string, string[]>();
  const anyRequires = new Map<string, string[]>();
  const templateDefs = new Map<string, ServiceDef>();
  for (const name of names) {
    const svcDir = join(dir, name);
    if (!known.has(name)) {
      problem(name, `${printable(name)}: invalid service name (allowed: ${NAME_RE.source})`);
      continue;
    }
    const read = readService(svcDir);
    if (!read.ok) for (const e of read.problems) problem(name, e);
    // requires is checked even when another file is invalid: every problem in one go
    const reqs = resolveRequires(name, read.ok ? read.def.requires : requiresOf(svcDir), true);
    if (!name.endsWith('@')) anyRequires.set(name, [...reqs]);
    if (!read.ok) continue;
    if (read.def.template) {
      templateDefs.set(name, read.def);
      continue;
    }
    services.set(name, read.def);
    graph.set(name, reqs);
  }
  for (const name of planned) {
    const t = templateDefs.get(splitInstance(name)!.template);
    if (!t) continue; // the template's own errors are reported
    const def = instanceDef(t, join(dir, name), name);
    services.set(name, def);
    graph.set(name, resolveRequires(name, def.requires, false)); // reported for the template
  }
  for (const n of planned) pending.delete(n);
  for (const [n, reqs] of graph) if (!anyRequires.has(n)) anyRequires.set(n, [...reqs]);
  // an edge to a service with an invalid definition is reported through that service
  for (const reqs of graph.values()) for (let i = reqs.length - 1; i >= 0; i--) if (!graph.has(reqs[i]!)) reqs.splice(i, 1);
  for (const cycle of findCycles(graph)) errors.push(`dependency cycle: ${formatCycle(cycle)}`);
  return { dir, entries, services, graph, errors, pending, planned, anyRequires, problems };
};

/** The entry for `name`; throws (svctl's exit 2) when it is unknown, or a template. */
export const lookup = (scan: ScanEntries, name: string): ScanEntry => {
  const e = scan.entries.find((x) => x.name === name);
  if (!e) throw new SvError('svkit.missing-service', EXIT_USAGE, `${printable(name)}: no such service in ${printable(scan.dir)}`);
  if (e.template)
    throw new SvError('svkit.usage', EXIT_USAGE, `${name}: a template is never started itself; name an instance (${name}NAME)`);
  return e;
};
