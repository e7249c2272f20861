// The words svrun, svctl and their pure cores share: what a service is, what
// a supervisor wants and does, how a run ended. A leaf module (it imports
// nothing), so that pure modules (the state machine, the log format) load no I/O.

export type ServiceType = 'longrun' | 'oneshot';
export type RestartPolicy = 'always' | 'on-failure' | 'never';

/** What a supervisor is asked for. */
export type Want = 'up' | 'down' | 'once';
/** What the service is doing (docs/status.md). */
export type State = 'starting' | 'up' | 'stopping' | 'finishing' | 'backoff' | 'down' | 'failed';
export const STATES: readonly State[] = ['starting', 'up', 'stopping', 'finishing', 'backoff', 'down', 'failed'];

/** The control letters that are commands to the supervisor's state machine (the others relay signals); `l`: reload. */
export type Command = 'u' | 'd' | 'o' | 'x' | 'l';

/**
 * Why svrun ended a run, when it did so on its own: the kernel's OOM killer
 * in the service's cgroup, failed health checks, or a silent watchdog.
 * null: the service exited by itself or was stopped on request.
 */
export type ExitReason = 'oom' | 'unhealthy' | 'watchdog';

export interface LastExit {
  code: number | null;
  signal: string | null;
  at: string;
  /** Absent in files written before svkit recorded it. */
  reason?: ExitReason | null;
}

/** The reasons svrun records in lastExit.reason; anything else in a (hand-edited) status.json is not shown. */
const EXIT_REASONS: readonly string[] = ['oom', 'unhealthy', 'watchdog'] satisfies ExitReason[];

/**
 * How a process ended, in the one wording svkit uses everywhere (svrun's log,
 * lastError, svctl's reports and status): `exited 1`, `killed by SIGKILL`;
 * with the reason svrun recorded, if any: `killed by SIGTERM (unhealthy)`.
 */
export const exitText = (e: (Pick<LastExit, 'code' | 'signal'> & { reason?: unknown }) | null): string => {
  if (e === null) return 'no exit yet';
  const how = e.signal ? `killed by ${e.signal}` : `exited ${e.code}`;
  return typeof e.reason === 'string' && EXIT_REASONS.includes(e.reason) ? `${how} (${e.reason})` : how;
};

/** The built-in logger's rotation (log/config). */
export interface Rotation {
  /** Rotate log/current when the next line would take it past this size. */
  maxBytes: number;
  /** Rotated files kept. */
  keep: number;
}

/** The resource files, parsed: bytes, percent of one CPU, tasks, open files. */
export interface Limits {
  memoryMax: number | null;
  cpuMax: number | null;
  pidsMax: number | null;
  nofile: number | null;
}
