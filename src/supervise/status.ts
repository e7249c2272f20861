// supervise/status.json, schema version 1: written atomically (temporary
// file in the same folder, then rename) so no reader ever sees half of it.
import type { Stats } from 'node:fs';
import { type OnAside, replaceFile } from '../os/safefile.js';
import type { LastExit, RestartPolicy, Rotation, ServiceType, State, Want } from '../vocabulary.js';
import { readSettingsFile } from '../settingsfile.js';

/** Where the health checks stand (a service with health-interval), as status.json shows it. */
export interface HealthStatus {
  /** False once the service was found unhealthy, until it is ready again. */
  ok: boolean;
  /** Failed checks in a row. */
  failures: number;
  /** When the last check ended (ISO 8601 UTC), null before the first. */
  lastCheckAt: string | null;
}

export interface LogStatus {
  state: State;
  pid: number | null;
  pidStart: number | null;
  restarts: number;
}

/**
 * svkit addition: what a supervisor read when it started and keeps using
 * while it runs, whatever its folder says since. svctl stops services in the
 * order these requires give and waits as long as these timeouts allow, so an
 * invalid folder never stands in the way of a stop. A hint like the rest of
 * this file: it orders and bounds waits, it never names a process to signal.
 */
export interface HeldSettings {
  requires: string[];
  downSignal: string;
  timeoutKillMs: number;
  timeoutFinishMs: number;
  /**
   * How this supervisor tells the service is ready: the service's line on
   * `notification-fd`, a `check` that exits 0, either (both set: whichever
   * comes first), or nothing (`none`: a longrun is up as soon as `run`
   * runs). `svctl status` shows `ready (checked)` or `running (unchecked)`
   * from it. Absent in files of an older svrun.
   */
  readiness?: Readiness;
  // the rest of what `svctl reload` may change (absent in files of an older svrun)
  /** `listen`'s addresses as written; the supervisor holds their sockets. */
  listen?: string[];
  restart?: RestartPolicy;
  timeoutReadyMs?: number;
  notificationFd?: number | null;
  user?: string | null;
  healthIntervalMs?: number | null;
  healthRetries?: number;
  healthTimeoutMs?: number;
  watchdogMs?: number | null;
  /** The built-in logger's rotation (log/config); null with a log/run logger. */
  logRotation?: Rotation | null;
}

export type Readiness = 'notification-fd' | 'check' | 'notification-fd+check' | 'none';

export const heldSettings = (def: {
  requires: readonly string[];
  downSignal: string;
  timeoutKillMs: number;
  timeoutFinishMs: number;
  notificationFd: number | null;
  check: string | null;
  listen?: readonly { text: string }[];
  restart?: RestartPolicy;
  timeoutReadyMs?: number;
  user?: string | null;
  healthIntervalMs?: number | null;
  healthRetries?: number;
  healthTimeoutMs?: number;
  watchdogMs?: number | null;
  logRun?: string | null;
  logRotation?: Rotation;
}): HeldSettings => ({
  requires: [...def.requires],
  downSignal: def.downSignal,
  timeoutKillMs: def.timeoutKillMs,
  timeoutFinishMs: def.timeoutFinishMs,
  readiness:
    def.notificationFd !== null
      ? def.check !== null
        ? 'notification-fd+check'
        : 'notification-fd'
      : def.check !== null
        ? 'check'
        : 'none',
  listen: (def.listen ?? []).map((a) => a.text),
  restart: def.restart,
  timeoutReadyMs: def.timeoutReadyMs,
  notificationFd: def.notificationFd,
  user: def.user,
  healthIntervalMs: def.healthIntervalMs,
  healthRetries: def.healthRetries,
  healthTimeoutMs: def.healthTimeoutMs,
  watchdogMs: def.watchdogMs,
  logRotation: def.logRun ? null : def.logRotation && { ...def.logRotation },
});

/**
 * svkit addition: the outcome of the supervisor's last reload (`l`), which
 * `svctl reload` waits for and reports. Null until the first; the field's
 * presence says the supervisor understands `l` (absent in files of an older svrun).
 */
export interface ReloadStatus {
  /** When the supervisor read its folder (ISO 8601 UTC). */
  at: string;
  /** Nothing was applied when false: `error` says why. */
  ok: boolean;
  /** The settings (file names) that changed and hold now, without a restart. */
  live: string[];
  /** The settings whose change restarts the service; they hold from its next start. */
  restart: string[];
  /** The service was restarted for them (it was running); false when it was not running or nothing asked for it. */
  restarted: boolean;
  /** Settings that changed but hold only under a new supervisor (`type`, `log/run`): `svctl restart` starts one. */
  newSupervisor: string[];
  /** Why nothing was applied (the folder is invalid now), else null. */
  error: string | null;
}

export interface Status {
  version: 1;
  name: string;
  type: ServiceType;
  supervisor: { pid: number; pidStart: number | null; startedAt: string } | null;
  want: Want;
  state: State;
  since: string;
  pid: number | null;
  pidStart: number | null;
  startedAt: string | null;
  readyAt: string | null;
  restarts: number;
  lastExit: LastExit | null;
  log: LogStatus | null;
  nextStartAt: string | null;
  lastError: string | null;
  /** svkit addition: the service's cgroup, or null where process groups alone contain it. */
  cgroup: string | null;
  /** Health checks (null without health-interval; absent in files written before svkit had them). */
  health?: HealthStatus | null;
  /** The settings the supervisor holds (absent in files written before svkit recorded them). */
  settings?: HeldSettings | null;
  /** svkit addition: the resource limits the supervisor holds and whether the cgroups took them; null without limit files. */
  limits?: LimitsStatus | null;
  /** svkit addition: the last reload's outcome (absent in files of an older svrun, which knows no `l`). */
  reload?: ReloadStatus | null;
}

/** memory-max (bytes), cpu-max (percent of one CPU), pids-max, nofile as read; `applied`: every one set is in force. */
export interface LimitsStatus {
  applied: boolean;
  memoryMax: number | null;
  cpuMax: number | null;
  pidsMax: number | null;
  nofile: number | null;
}

/**
 * What a service never supervised looks like: down, wanted down, since the
 * epoch (nothing ever happened to it). svctl shows it for a folder without a
 * status.json; svrun starts from it (its own want and since over it) when it
 * finds none.
 */
export const blankStatus = (name: string, type: ServiceType): Status => ({
  version: 1,
  name,
  type,
  supervisor: null,
  want: 'down',
  state: 'down',
  since: new Date(0).toISOString(),
  pid: null,
  pidStart: null,
  startedAt: null,
  readyAt: null,
  restarts: 0,
  lastExit: null,
  log: null,
  nextStartAt: null,
  lastError: null,
  cgroup: null,
});

export type ReadStatus = { kind: 'missing' } | { kind: 'corrupt'; reason: string } | { kind: 'ok'; status: Status };

/** A status.json is a few hundred bytes; anything past this is not one (and is never read whole). */
export const STATUS_MAX_BYTES = 1024 * 1024;

/**
 * status.json as it is now. Like every file in a service folder it is
 * untrusted: a FIFO, a device or a file over STATUS_MAX_BYTES is `corrupt`,
 * never a hang (src/settingsfile.ts).
 */
export const readStatus = (file: string): ReadStatus => {
  const r = readSettingsFile(file, STATUS_MAX_BYTES);
  if (r.kind === 'missing') return { kind: 'missing' };
  if (r.kind === 'invalid') return { kind: 'corrupt', reason: r.reason };
  const text = r.text;
  try {
    const value = JSON.parse(text) as Partial<Status>;
    if (value === null || typeof value !== 'object' || value.version !== 1 || typeof value.state !== 'string') {
      return { kind: 'corrupt', reason: 'not a version 1 status object' };
    }
    return { kind: 'ok', status: value as Status };
  } catch (err) {
    return { kind: 'corrupt', reason: (err as Error).message };
  }
};

/** The exact text writeStatus writes. */
export const statusText = (status: Status): string => `${JSON.stringify(status, null, 2)}\n`;

/**
 * Atomic replace, never through a planted symlink, a folder planted there
 * moved aside (src/os/safefile.ts); 0644:
 * svctl reads it as any user. Returns the new file's fstat; throws on failure
 * (the caller records and retries). Not fsync'd: it describes processes,
 * which a machine crash ends anyway, and readers take a missing or broken
 * file for "no status" (docs/decisions.md); an fsync cost a few ms on every
 * change, twice on each restart's path.
 */
export const writeStatus = (file: string, status: Status, onAside?: OnAside): Stats =>
  replaceFile(file, statusText(status), 0o644, onAside);
