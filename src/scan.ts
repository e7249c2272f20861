// Reads a scan directory: every service folder parsed with the module svrun
// uses, every `requires` resolved, cycles found. All problems are collected,
// one line each, so svctl can refuse the whole directory before it changes
// anything (exit 2).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findCycles, formatCycle, type Graph } from './graph.js';
import { NAME_RE, parseList, readService, type ServiceDef } from './servicedir.js';

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
}

export const DEFAULT_SCAN_DIR = './services';

/** -d/--dir, else $SVDIR, else ./services; always absolute. */
export const scanDirFrom = (option: string | undefined, env = process.env): string =>
  resolve(option ?? (env.SVDIR || DEFAULT_SCAN_DIR));

const isDirectory = (path: string): boolean => {
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

const requiresOf = (svcDir: string): string[] => {
  try {
    return parseList(readFileSync(join(svcDir, 'requires'), 'utf8'));
  } catch {
    return [];
  }
};

/** Throws (with a one-line message) only when the scan directory itself cannot be read. */
export const readScan = (dirOption: string): Scan => {
  const dir = resolve(dirOption);
  let names: string[];
  try {
    names = folderNames(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${dir}: no such scan directory` : `${dir}: ${(err as Error).message}`);
  }
  const errors: string[] = [];
  const entries: ScanEntry[] = [];
  for (const name of names) {
    const svcDir = join(dir, name);
    if (NAME_RE.test(name)) entries.push({ name, dir: svcDir, down: existsSync(join(svcDir, 'down')), template: name.endsWith('@') });
  }
  const known = new Set(entries.map((e) => e.name));
  const instancesOf = (template: string) => entries.filter((e) => !e.template && e.name.startsWith(template)).map((e) => e.name);

  const services = new Map<string, ServiceDef>();
  const graph = new Map<string, string[]>();
  for (const name of names) {
    const svcDir = join(dir, name);
    if (!known.has(name)) {
      errors.push(`${name}: invalid service name (allowed: ${NAME_RE.source})`);
      continue;
    }
    const read = readService(svcDir);
    if (!read.ok) errors.push(...read.errors);
    // requires is checked even when another file is invalid: every problem in one go
    const requires = read.ok ? read.def.requires : requiresOf(svcDir);
    const reqs: string[] = [];
    for (const r of requires) {
      if (r.endsWith('@*')) reqs.push(...instancesOf(r.slice(0, -1)));
      else if (known.has(r)) reqs.push(r);
      else if (NAME_RE.test(r)) errors.push(`${name}/requires: unknown service "${r}"`);
    }
    if (!read.ok || read.def.template) continue;
    services.set(name, read.def);
    graph.set(name, [...new Set(reqs)].sort());
  }
  // an edge to a service with an invalid definition is reported through that service
  for (const reqs of graph.values()) for (let i = reqs.length - 1; i >= 0; i--) if (!graph.has(reqs[i]!)) reqs.splice(i, 1);
  for (const cycle of findCycles(graph)) errors.push(`dependency cycle: ${formatCycle(cycle)}`);
  return { dir, entries, services, graph, errors };
};

/** The entry for `name`, or an error line: unknown, or a template. */
export const lookup = (scan: Scan, name: string): ScanEntry | string => {
  const e = scan.entries.find((x) => x.name === name);
  if (!e) return `${name}: no such service in ${scan.dir}`;
  if (e.template) return `${name}: a template is never started itself; name an instance (${name}NAME)`;
  return e;
};
