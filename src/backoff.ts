// Restart delays (docs/svrun.md, the state machine): the first restart after an exit is
// immediate; each further short run doubles the wait from 100 ms up to 30 s;
// a run of 10 s or more starts the sequence again.
import { BACKOFF_CAP_MS, BACKOFF_FIRST_MS, BACKOFF_RESET_RUN_MS } from './defaults.js';

/** `shortRuns` counts the consecutive runs shorter than BACKOFF_RESET_RUN_MS before this restart. */
export const restartDelay = (shortRuns: number): number =>
  shortRuns <= 0 ? 0 : Math.min(BACKOFF_FIRST_MS * 2 ** Math.min(shortRuns - 1, 20), BACKOFF_CAP_MS);

/** The count after a run of `runMs` ended (null: it never ran, e.g. spawn failed). */
export const nextShortRuns = (shortRuns: number, runMs: number | null): number =>
  runMs !== null && runMs >= BACKOFF_RESET_RUN_MS ? 0 : shortRuns;
