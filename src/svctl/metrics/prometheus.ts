// `svctl metrics`: what svctl knows about each service (status.json, whether
// a supervisor runs, the cgroup's usage) in the Prometheus text exposition
// format 0.0.4, the format node_exporter's textfile collector reads and a
// Prometheus server scrapes. Pure: rows in, text out (docs/svctl.md).
import type { Usage } from '../../os/usage.js';
import type { ShownStatus } from '../engine/observe.js';
import { type State, STATES } from '../../vocabulary.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** One service as the metrics see it; null wherever the value is not known (its series is left out, never made up). */
export interface MetricsRow {
  service: string;
  /** null: status.json names a state svkit does not know (it is untrusted). */
  state: State | null;
  restarts: number | null;
  /** When the running process started, in seconds since the epoch; null while none runs. */
  startTimeSeconds: number | null;
  memoryBytes: number | null;
  cpuSeconds: number | null;
  oomKills: number | null;
  /** null: no health checks (no `health-interval`), or a status.json written before svkit recorded them. */
  healthy: boolean | null;
}

type Labels = [name: string, value: string][];
type Sample = { labels: Labels; value: number };

interface Family {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  samples(row: MetricsRow, service: Labels): Sample[];
}

/** The sample, or none when the value is unknown. */
const known = (labels: Labels, value: number | null): Sample[] => (value === null ? [] : [{ labels, value }]);
const bit = (b: boolean): number => (b ? 1 : 0);

/** A family of one sample per service, where its value is known. */
const perService = (name: string, type: Family['type'], help: string, value: (r: MetricsRow) => number | null): Family => ({
  name,
  type,
  help,
  samples: (r, l) => known(l, value(r)),
});

/** Every family in the order printed; each labelled `service`. */
export const FAMILIES: readonly Family[] = [
  perService(
    'svkit_up',
    'gauge',
    'Whether the service is up: 1 when ready (a oneshot: its run succeeded and its effect holds), else 0.',
    (r) => bit(r.state === 'up'),
  ),
  {
    // the enum pattern: one series per state, 1 for the current one, so each
    // state can be counted (sum by (state)) and a change shows in every panel
    name: 'svkit_state',
    type: 'gauge',
    help: "The service's state: 1 for the series whose state label is the current state, 0 for the others.",
    samples: (r, l) => (r.state === null ? [] : STATES.map((s) => ({ labels: [...l, ['state', s]], value: bit(r.state === s) }))),
  },
  perService('svkit_restarts_total', 'counter', 'Restarts of the service since its supervisor started.', (r) => r.restarts),
  perService(
    'svkit_start_time_seconds',
    'gauge',
    "When the service's running process started, in seconds since the Unix epoch (absent while none runs).",
    (r) => r.startTimeSeconds,
  ),
  perService(
    'svkit_memory_bytes',
    'gauge',
    "Memory the service's cgroup uses now, in bytes (absent without a memory cgroup).",
    (r) => r.memoryBytes,
  ),
  perService(
    'svkit_cpu_seconds_total',
    'counter',
    "CPU time the service's cgroup has used, in seconds (absent without a cgroup that counts it).",
    (r) => r.cpuSeconds,
  ),
  perService(
    'svkit_oom_kills_total',
    'counter',
    "Processes of the service's cgroup killed by the kernel's OOM killer (absent without a memory cgroup).",
    (r) => r.oomKills,
  ),
  perService('svkit_healthy', 'gauge', "Whether the service's health check passes: 1 or 0 (absent without health-interval).", (r) =>
    r.healthy === null ? null : bit(r.healthy),
  ),
];

/** A label value as the format quotes it: backslash, double quote and newline escaped. */
export const escapeLabelValue = (v: string): string => v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));

/** HELP text: backslash and newline escaped (a double quote stays). */
export const escapeHelp = (v: string): string => v.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));

/** A sample value: Go's float syntax, which JavaScript's shortest form already is, plus NaN and ±Inf. */
export const formatValue = (n: number): string => {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
};

const sampleLine = (name: string, s: Sample): string =>
  `${name}{${s.labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}} ${formatValue(s.value)}`;

/**
 * The exposition: for each family its HELP and TYPE lines, then one sample
 * per service (svkit_state: one per state), families never interleaved.
 * No timestamps: the textfile collector refuses them, and a scrape is "now".
 */
export const metricsText = (rows: readonly MetricsRow[]): string => {
  const lines: string[] = [];
  for (const f of FAMILIES) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const r of rows) for (const s of f.samples(r, [['service', r.service]])) lines.push(sampleLine(f.name, s));
  }
  return `${lines.join('\n')}\n`;
};

/** A count or amount read from an untrusted file: finite and not negative, else unknown. */
const amount = (n: unknown): number | null => (typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : null);

/**
 * `health` as the health checks record it (`{ ok, failures, lastCheckAt }`),
 * read as an unknown field: status.json is untrusted and older files lack it.
 */
const healthOk = (s: object): boolean | null => {
  const h = (s as { health?: unknown }).health;
  if (h === null || typeof h !== 'object') return null;
  const ok = (h as { ok?: unknown }).ok;
  return typeof ok === 'boolean' ? ok : null;
};

/** The row for a service from its shown status (src/svctl/engine/observe.ts) and its cgroup's usage (null: no cgroup). */
export const metricsRow = (s: ShownStatus, usage: Usage | null): MetricsRow => {
  const started = s.pid !== null && typeof s.startedAt === 'string' ? Date.parse(s.startedAt) / 1000 : null;
  return {
    service: s.name,
    state: (STATES as readonly string[]).includes(s.state) ? s.state : null,
    restarts: Number.isSafeInteger(s.restarts) ? amount(s.restarts) : null,
    startTimeSeconds: amount(started),
    memoryBytes: amount(usage?.memoryBytes),
    cpuSeconds: amount(usage?.cpuSeconds),
    oomKills: amount(usage?.oomKills),
    healthy: healthOk(s),
  };
};
