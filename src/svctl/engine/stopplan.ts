// What stopping needs to know, without ever refusing (docs/services.md "Stopping
// never waits on valid folders"): which services there are, in which order
// they must stop, and how long to wait for each. A running supervisor holds
// the settings it started with and records them in status.json (`settings`),
// so its requires order the stop and its timeouts bound the wait, whatever
// its folder says now; a folder that is invalid today only earns a warning.
// The requires of the folders as they are now count too (the union of both,
// so a dependent is stopped first whichever of the two names the edge); the
// edges inside a cycle are dropped, never the stop.
import { DEFAULT_TIMEOUT_FINISH_MS, DEFAULT_TIMEOUT_KILL_MS, MAX_TIMER_MS, STOP_SLACK_MS } from '../../defaults.js';
import { findCycles, formatCycle, type Graph, withoutCycles } from '../../graph.js';
import type { Scan } from '../../scan.js';
import { NAME_RE, type ServiceDef } from '../../servicedir.js';
import type { HeldSettings, Status } from '../../supervise/status.js';
import { observe } from './observe.js';
import type { ServiceType } from '../../vocabulary.js';

/** How one service is stopped and waited for. */
export interface StopTarget {
  name: string;
  dir: string;
  type: ServiceType;
  timeoutKillMs: number;
  timeoutFinishMs: number;
  /** Where the timeouts come from: the running supervisor's record, the (valid) folder, or the defaults. */
  from: 'supervisor' | 'folder' | 'defaults';
}

export type StopTimeouts = Pick<StopTarget, 'timeoutKillMs' | 'timeoutFinishMs'>;

const DEFAULT_TIMEOUTS: StopTimeouts = { timeoutKillMs: DEFAULT_TIMEOUT_KILL_MS, timeoutFinishMs: DEFAULT_TIMEOUT_FINISH_MS };

/**
 * The one stop-timeout rule (docs/services.md): a stop may take timeout-kill, then
 * timeout-finish, plus STOP_SLACK_MS; without settings to go by, the
 * defaults'. `down` waits this long for each service, `wait down` too.
 */
export const stopTimeoutMs = (t: StopTimeouts = DEFAULT_TIMEOUTS): number => t.timeoutKillMs + t.timeoutFinishMs + STOP_SLACK_MS;

export interface StopPlan {
  /** "a requires b": a is stopped before b. Acyclic. */
  graph: Graph;
  targets: ReadonlyMap<string, StopTarget>;
  /** Cycles in the requires (running or current) whose members are stopped without waiting for each other. */
  cycles: string[][];
}

/** What planning needs of one service folder (gathered at the edge, see readStopPlan). */
export interface StopInput {
  name: string;
  dir: string;
  /** The folder's definition when it is valid now, else null. */
  def: ServiceDef | null;
  /** The folder's requires now, resolved (scan.anyRequires). */
  requires: readonly string[];
  /** status.json of its supervisor, when one is running; else null. */
  running: Status | null;
}

const isMs = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= MAX_TIMER_MS;
/** A bound on a recorded list: status.json is untrusted. */
const MAX_RECORDED_REQUIRES = 10_000;

/** The `settings` of a status.json when they are well formed, else null (an old svrun, or a damaged file). */
export const recordedSettings = (s: Status | null): HeldSettings | null => {
  const h = s?.settings as Partial<HeldSettings> | null | undefined;
  if (!h || typeof h !== 'object') return null;
  if (!isMs(h.timeoutKillMs) || !isMs(h.timeoutFinishMs)) return null;
  if (!Array.isArray(h.requires) || h.requires.length > MAX_RECORDED_REQUIRES) return null;
  if (!h.requires.every((r) => typeof r === 'string' && NAME_RE.test(r.replace(/@\*$/, '@x')))) return null;
  return { requires: h.requires, downSignal: String(h.downSignal), timeoutKillMs: h.timeoutKillMs, timeoutFinishMs: h.timeoutFinishMs };
};

/** Recorded requires resolved against the folders there are: `worker@*` is every instance; names not there are dropped. */
const resolveRecorded = (requires: readonly string[], names: ReadonlySet<string>, all: readonly string[]): string[] =>
  requires.flatMap((r) => (r.endsWith('@*') ? all.filter((n) => n.startsWith(r.slice(0, -1))) : names.has(r) ? [r] : []));

const targetOf = (i: StopInput): StopTarget => {
  const held = recordedSettings(i.running);
  const type: ServiceType = i.def?.type ?? (i.running?.type === 'oneshot' ? 'oneshot' : 'longrun');
  if (held)
    return { name: i.name, dir: i.dir, type, timeoutKillMs: held.timeoutKillMs, timeoutFinishMs: held.timeoutFinishMs, from: 'supervisor' };
  if (i.def)
    return { name: i.name, dir: i.dir, type, timeoutKillMs: i.def.timeoutKillMs, timeoutFinishMs: i.def.timeoutFinishMs, from: 'folder' };
  return { name: i.name, dir: i.dir, type, ...DEFAULT_TIMEOUTS, from: 'defaults' };
};

/** The plan for `inputs` (one per service folder, templates excluded). Pure. */
export const stopPlanOf = (inputs: readonly StopInput[]): StopPlan => {
  const all = inputs.map((i) => i.name).sort();
  const names = new Set(all);
  const g = new Map<string, string[]>();
  for (const i of inputs) {
    const held = recordedSettings(i.running);
    const reqs = new Set([...i.requires.filter((r) => names.has(r)), ...(held ? resolveRecorded(held.requires, names, all) : [])]);
    g.set(i.name, [...reqs].sort());
  }
  return {
    graph: withoutCycles(g),
    targets: new Map(inputs.map((i) => [i.name, targetOf(i)])),
    cycles: findCycles(g),
  };
};

/** The plan for every service folder of `scan`, valid or not, as it runs now. */
export const readStopPlan = (scan: Scan): StopPlan =>
  stopPlanOf(
    scan.entries
      .filter((e) => !e.template)
      .map((e) => {
        const o = observe(e.name, e.dir);
        return {
          name: e.name,
          dir: e.dir,
          def: scan.services.get(e.name) ?? null,
          requires: scan.anyRequires.get(e.name) ?? [],
          running: o.supervised ? o.recorded : null,
        };
      }),
  );

/**
 * One warning line (without the `svctl: ` prefix) per invalid folder among
 * `stopping`, saying how it is stopped all the same, and one per cycle
 * among them.
 */
export const stopWarnings = (scan: Scan, plan: StopPlan, stopping: Iterable<string>): string[] => {
  const set = new Set(stopping);
  const lines: string[] = [];
  for (const name of [...set].sort()) {
    const problems = scan.problems.get(name);
    const t = plan.targets.get(name);
    if (!problems || !t) continue;
    const running = observe(name, t.dir).supervised;
    const how = !running
      ? `${name} has no supervisor`
      : t.from === 'supervisor'
        ? `stopping ${name} with the settings its supervisor holds`
        : `stopping ${name} through its supervisor, waiting with the default timeouts`;
    lines.push(`warning: ${problems.join('; ')} (${how})`);
  }
  for (const cycle of plan.cycles) {
    if (!cycle.some((n) => set.has(n))) continue;
    lines.push(`warning: dependency cycle: ${formatCycle(cycle)} (its services are stopped without waiting for each other)`);
  }
  return lines;
};
