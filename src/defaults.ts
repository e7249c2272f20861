// Every default of docs/services.md's table and svrun's timing, with its unit,
// in one place so the docs table can be checked against it.

export const DEFAULT_TIMEOUT_READY_MS = 10_000;
export const DEFAULT_TIMEOUT_KILL_MS = 7_000;
export const DEFAULT_TIMEOUT_FINISH_MS = 5_000;
export const DEFAULT_DOWN_SIGNAL = 'SIGTERM';
export const DEFAULT_RESTART = 'always';

/** svctl waits for a stop timeout-kill + timeout-finish and this much more: svrun's own exit and last status write. */
export const STOP_SLACK_MS = 1_000;

/** A run that lasted this long resets the backoff sequence. */
export const BACKOFF_RESET_RUN_MS = 10_000;
export const BACKOFF_FIRST_MS = 100;
export const BACKOFF_CAP_MS = 30_000;

/** How often a stopping supervisor looks whether the process group is empty (also: whether killed processes are gone). */
export const GROUP_POLL_MS = 20;
/** While polling a stopping group, look past unreaped zombies this often: /proc scans cost more than a kill(0). */
export const ZOMBIE_LOOK_MS = 500;
/** docs/services.md: `check` runs every 100 ms until it exits 0. */
export const CHECK_INTERVAL_MS = 100;
/** How often svrun looks whether run itself was exec'd past its sh/setpriv wrappers (they take a few ms)... */
export const EXEC_LOOK_MS = 1;
/** ...and how long before it calls the run spawned anyway (a wrapper that hangs must not hold up readiness). */
export const EXEC_WAIT_MS = 200;
/** A run's standby (the next run, spawned ahead) is spawned this long after the run: never in the way of its start-up. */
export const STANDBY_DELAY_MS = 500;
/**
 * How long a new supervisor waits for a previous run's leftovers to vanish
 * after SIGKILL before it logs an error and goes on: what survives SIGKILL
 * that long is stuck in the kernel (D state) and never runs user code again.
 */
export const LEFTOVERS_KILL_WAIT_MS = 5_000;
/** A new svrun waits this long beyond the two timeout-kills for a killed predecessor's task reaper. */
export const REAPER_MARGIN_MS = 2_000;
/** proper-lockfile staleness: only for a lock with no owner on record (neither in status.json nor in the lock's owner file). */
export const LOCK_STALE_MS = 10_000;
/** A takeover guard older than this was left by a killed supervisor. */
export const LOCK_GUARD_STALE_MS = 2_000;
/** A held guard is tried again after this plus up to LOCK_GUARD_JITTER_MS: it is held for a few ms only... */
export const LOCK_GUARD_RETRY_MS = 10;
/** ...and the jitter keeps racing supervisors from retrying in lockstep. */
export const LOCK_GUARD_JITTER_MS = 20;
/** Where inotify fails, a held lock is looked at this often (removed or replaced behind our back?); else never on a timer. */
export const LOCK_UPDATE_MS = 5_000;
/**
 * Where inotify fails (no instance left: fs.inotify.max_user_instances), svrun
 * looks this often whether its supervise/ or control FIFO was moved or
 * replaced: one fstat and two stats, so svctl finds them again within a second.
 */
export const FOLDER_CHECK_FALLBACK_MS = 1_000;
/** A supervisor whose lock was taken from it tries to take it back this often (never fatal, never busy). */
export const LOCK_RETAKE_MS = 1_000;
/** svctl waits for .svctl.lock in steps this short: a waiting `svctl up` should not add visible delay. */
export const SCAN_LOCK_RETRY_MS = 50;
/** The shortest default wait for .svctl.lock: even an empty scan directory's holder gets this long. */
export const SCAN_LOCK_WAIT_MIN_MS = 1_000;
/** The holder of .svctl.lock touches its owner record this often: it is alive and its event loop runs... */
export const SCAN_LOCK_HEARTBEAT_MS = 1_000;
/** ...and a waiter without -t gives up on a live holder only once it has not beaten for this long (stopped, hung). */
export const SCAN_LOCK_STALL_MS = 10_000;
/** Built-in logger rotation (log/config may change both). */
export const DEFAULT_ROTATION = { maxBytes: 1024 * 1024, keep: 10 } as const;
/** A partial line (no newline yet) is written after this long without output. */
export const PARTIAL_LINE_IDLE_MS = 1_000;
/** Retry delay for a status write or log write that failed (full disk...). */
export const IO_RETRY_MS = 1_000;
/** Retry delay for a full non-blocking pipe to the logger: a reader behind by a moment, not an error. */
export const PIPE_RETRY_MS = 20;
/** At exit, svrun waits at most this long for its queued log lines to be written (a stuck disk must not hold it). */
export const LOG_FLUSH_MS = 2_000;
/** The held pipe's own event lines get this long when it closes: they are few. */
export const PIPE_FLUSH_MS = 1_000;
/** A `log/` subservice gets its timeout-kill, and at least this long, to write what is left after EOF. */
export const LOG_DRAIN_MIN_MS = 1_000;
/** A task reaper told to go (or SIGKILLed) is gone within this; svrun waits no longer for it. */
export const REAPER_EXIT_WAIT_MS = 1_000;

/** After an outside write to status.json or pid is seen (inotify), look this soon (several events, one look). */
export const STATUS_CHECK_DEBOUNCE_MS = 50;
/** Where inotify cannot watch them, status.json and pid are looked at this often. */
export const STATUS_CHECK_FALLBACK_MS = 15_000;

/** svctl's fallback look at a folder it watches when inotify says nothing (a folder made later, NFS): up, down and wait answer this soon. */
export const CHANGE_POLL_MS = 50;
/** A bring-up's poll while inotify watches the supervise/ folder (everything it waits for wakes it: src/svctl/engine/bringup.ts). */
export const UP_WATCHED_POLL_MS = 500;
/** How often svctl reads a starting host's stderr for a folder it refused (src/svctl/engine/host.ts). */
export const HOST_STDERR_POLL_MS = 50;
/** `logs -f`'s fallback poll: a person reads it, a quarter second is prompt and costs little. */
export const FOLLOW_POLL_MS = 250;
/** How often svctl redraws its progress lines on a terminal while something is under way (the clocks of `starting 1.2 s`). */
export const TERMINAL_TICK_MS = 100;
/** How long `svctl reload` waits for a supervisor to read its folder and say so (it does at once; this bounds a stuck one). */
export const RELOAD_ANSWER_MS = 5_000;
/** How long a failure report waits for svrun's event line to reach log/current (written a moment after status.json). */
export const LOG_SETTLE_MS = 1_000;

/** svctl boot's default --shutdown-timeout (the whole reverse-order stop, then SIGKILL): two levels at the default 7 s + 5 s, with room. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;
/** svctl boot reads a folder added to the scan directory once it has been quiet this long (its files are being written). */
export const SCAN_SETTLE_MS = 500;
/** Where inotify cannot watch the scan directory, svctl boot looks at it this often instead. */
export const SCAN_POLL_MS = 2_000;
/** After boot's final SIGKILL, how long it waits for the processes to be gone (the kernel takes a moment). */
export const KILL_WAIT_MS = 2_000;
/** svctl boot restarts a dead supervisor on SIGCHLD; one not its child is looked for this often. */
export const RESPAWN_SWEEP_MS = 2_000;
/** The reaper leaves a zombie this long to libuv (it reaps its own children within a tick of SIGCHLD). */
export const REAP_AFTER_MS = 200;
/** Even without SIGCHLD the reaper looks this often (a missed signal costs a zombie at most this long). */
export const REAP_SWEEP_MS = 2_000;

/** setTimeout's largest delay: a longer timeout fires at once, so no timeout setting may exceed it. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The fewest descriptors svrun and svctl start with (measured, with a margin:
 * docs/decisions.md, Descriptors); below, each says so in one line instead of failing
 * later with EMFILE somewhere.
 */
export const MIN_FDS_SVRUN = 40;
export const MIN_FDS_SVCTL = 40;
/**
 * What each service beyond the first adds to a hosting svrun: its control
 * FIFO (2), log file, the output pipes of run, finish and a check (6), a
 * notification pipe, a log/ logger's held pipe (3), its held supervise/ and
 * the flock on its folder (2); with a margin, as MIN_FDS_SVRUN.
 */
export const FDS_PER_HOSTED_SERVICE = 20;
/** svctl starts another svrun only while more descriptors than this stay free (for its reads, watches and spawn's own pipes). */
export const LAUNCH_FD_RESERVE = 6;

/** svctl metrics --listen: how long one request may take (headers included)... */
export const METRICS_REQUEST_TIMEOUT_MS = 10_000;
/** ...how long its headers may take (a scraper sends them at once), checked this often... */
export const METRICS_HEADERS_TIMEOUT_MS = 5_000;
export const METRICS_TIMEOUT_CHECK_MS = 1_000;
/** ...how many connections at once, and how long a new one has for its request before a newer one may take its place. */
export const METRICS_MAX_CONNECTIONS = 256;
export const METRICS_HEADERS_GRACE_MS = 1_000;
/** A computed metrics text is served to every scrape for at least this long (metrics/snapshot.ts). */
export const METRICS_SNAPSHOT_MIN_MS = 1_000;

/** Exit codes shared by svrun and svctl (docs/status.md). */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_LOCKED = 100;
export const EXIT_INVALID = 111;

// --- health and watchdog (docs/services.md) ---
/** health-retries: failed health checks in a row before the service is unhealthy. */
export const DEFAULT_HEALTH_RETRIES = 3;
/** health-timeout: ms one health check may run before it is killed and counted as failed. */
export const DEFAULT_HEALTH_TIMEOUT_MS = 5_000;
