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

/** Exit codes shared by svrun and svctl (SPEC.md). */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_LOCKED = 100;
export const EXIT_INVALID = 111;
