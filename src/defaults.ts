// Every default of SPEC.md's service table and svrun's timing, with its unit,
// in one place so the docs table can be checked against it.

export const DEFAULT_TIMEOUT_READY_MS = 10_000;
export const DEFAULT_TIMEOUT_KILL_MS = 7_000;
export const DEFAULT_TIMEOUT_FINISH_MS = 5_000;
export const DEFAULT_DOWN_SIGNAL = 'SIGTERM';
export const DEFAULT_RESTART = 'always';

/** A run that lasted this long resets the backoff sequence. */
export const BACKOFF_RESET_RUN_MS = 10_000;
export const BACKOFF_FIRST_MS = 100;
export const BACKOFF_CAP_MS = 30_000;

/** How often a stopping supervisor looks whether the process group is empty. */
export const GROUP_POLL_MS = 20;
/**
 * How long a new supervisor waits for a previous run's leftovers to vanish
 * after SIGKILL before it logs an error and goes on: what survives SIGKILL
 * that long is stuck in the kernel (D state) and never runs user code again.
 */
export const LEFTOVERS_KILL_WAIT_MS = 5_000;
/** A new svrun waits this long beyond the two timeout-kills for a killed predecessor's task reaper. */
export const REAPER_MARGIN_MS = 2_000;
/** proper-lockfile staleness: only the fallback, the owner check comes first. */
export const LOCK_STALE_MS = 10_000;
/** A takeover guard older than this was left by a killed supervisor. */
export const LOCK_GUARD_STALE_MS = 2_000;
/** Built-in logger rotation (log/config may change both). */
export const DEFAULT_ROTATION = { maxBytes: 1024 * 1024, keep: 10 } as const;
/** A partial line (no newline yet) is written after this long without output. */
export const PARTIAL_LINE_IDLE_MS = 1_000;
/** Retry delay for a status write or log write that failed (full disk...). */
export const IO_RETRY_MS = 1_000;

/** After an outside write to status.json or pid is seen (inotify), look this soon (several events, one look). */
export const STATUS_CHECK_DEBOUNCE_MS = 50;
/** Where inotify cannot watch them, status.json and pid are looked at this often. */
export const STATUS_CHECK_FALLBACK_MS = 15_000;

/**
 * The fewest descriptors svrun and svctl start with (measured, with a margin:
 * docs/notes-hint.md); below, each says so in one line instead of failing
 * later with EMFILE somewhere.
 */
export const MIN_FDS_SVRUN = 40;
export const MIN_FDS_SVCTL = 40;

/** svctl metrics --listen: how long one request may take (headers included), and how many connections at once. */
export const METRICS_REQUEST_TIMEOUT_MS = 10_000;
export const METRICS_MAX_CONNECTIONS = 64;

/** Exit codes shared by svrun and svctl (SPEC.md). */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_LOCKED = 100;
export const EXIT_INVALID = 111;
