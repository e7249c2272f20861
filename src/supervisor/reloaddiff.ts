// What a reload (`svctl reload`, control letter `l`) does with each setting
// that changed, as one table: applied live, applied by restarting the
// service under the same supervisor, or held until a new supervisor starts.
// Pure: the folder is read, and the files fingerprinted, by reload.ts.
import { addressKey } from '../listen.js';
import type { ServiceDef } from '../servicedir.js';

/** How a changed setting is put in force. */
export type ReloadKind = 'live' | 'restart' | 'new-supervisor';

/**
 * What a supervisor holds of a service: its definition, and the executables'
 * fingerprints (their content is not in the definition: the same path,
 * edited, is a changed `run`). A fingerprint is null when the file is absent.
 */
export interface Snapshot {
  def: ServiceDef;
  files: { run: string | null; finish: string | null; check: string | null; logRun: string | null };
}

/** Each setting (by its file's name), how a change of it is applied, and what is compared. */
export const RELOAD_SETTINGS: readonly (readonly [string, ReloadKind, (s: Snapshot) => unknown])[] = [
  ['type', 'new-supervisor', (s) => s.def.type],
  ['log/run', 'new-supervisor', (s) => s.files.logRun],
  ['run', 'restart', (s) => s.files.run],
  ['finish', 'restart', (s) => s.files.finish],
  ['check', 'restart', (s) => s.files.check],
  ['env', 'restart', (s) => s.def.env],
  ['user', 'restart', (s) => s.def.user],
  ['nofile', 'restart', (s) => s.def.limits.nofile],
  ['notification-fd', 'restart', (s) => s.def.notificationFd],
  ['listen', 'restart', (s) => s.def.listen.map(addressKey)],
  ['requires', 'live', (s) => [...s.def.requires].sort()],
  ['down-signal', 'live', (s) => s.def.downSignal],
  ['timeout-ready', 'live', (s) => s.def.timeoutReadyMs],
  ['timeout-kill', 'live', (s) => s.def.timeoutKillMs],
  ['timeout-finish', 'live', (s) => s.def.timeoutFinishMs],
  ['restart', 'live', (s) => s.def.restart],
  ['memory-max', 'live', (s) => s.def.limits.memoryMax],
  ['cpu-max', 'live', (s) => s.def.limits.cpuMax],
  ['pids-max', 'live', (s) => s.def.limits.pidsMax],
  ['health-interval', 'live', (s) => s.def.healthIntervalMs],
  ['health-retries', 'live', (s) => s.def.healthRetries],
  ['health-timeout', 'live', (s) => s.def.healthTimeoutMs],
  ['watchdog', 'live', (s) => s.def.watchdogMs],
  ['log/config', 'live', (s) => s.def.logRotation],
];

export interface ReloadDiff {
  live: string[];
  restart: string[];
  newSupervisor: string[];
}

/** env/ and requires compare by content: the same entries in another order are the same setting. */
const same = (a: unknown, b: unknown): boolean => JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
const sorted = (v: unknown): unknown =>
  v !== null && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
    : v;

/** The settings that differ between what runs (`held`) and the folder now (`next`), by how each is applied, in the table's order. */
export const reloadDiff = (held: Snapshot, next: Snapshot): ReloadDiff => {
  const d: ReloadDiff = { live: [], restart: [], newSupervisor: [] };
  for (const [file, kind, value] of RELOAD_SETTINGS) {
    if (same(value(held), value(next))) continue;
    (kind === 'live' ? d.live : kind === 'restart' ? d.restart : d.newSupervisor).push(file);
  }
  return d;
};
