// Why a service did not come up or go down, as the one line svctl prints:
// the supervisor's last error when it recorded one, and the last lines the
// service itself wrote to its log, which usually say what it complained about.
import { dirname } from 'node:path';
import type { ServiceDef } from '../servicedir.js';
import type { LastExit, Status } from '../statusfile.js';
import { logFile, tailLines, withoutTime } from './logs.js';
import { Changes } from './watch.js';

const OUTPUT_LINES = 3;
/** How far back to look for the service's own lines among svrun's events. */
const SCAN_LINES = 50;

export const exitText = (e: LastExit | null): string =>
  e === null ? 'no exit yet' : `${e.signal ? `killed by ${e.signal}` : `exited ${e.code}`}${KNOWN_REASONS.includes(e.reason) ? ` (${e.reason})` : ''}`;

/** lastExit.reason as svrun writes it; anything else in a status.json (anyone may write it) is not shown. */
const KNOWN_REASONS: readonly unknown[] = ['oom', 'unhealthy', 'watchdog'];

/** `: <last error>` when recorded, then `; last output: a | b | c` when the service wrote any. */
export const detail = (def: ServiceDef, s: Status | null): string => {
  const output = tailLines(logFile(def.dir, def.name), SCAN_LINES)
    .map(withoutTime)
    .filter((l) => l.startsWith('out ') || l.startsWith('err '))
    .slice(-OUTPUT_LINES);
  return `${s?.lastError ? `: ${s.lastError}` : ''}${output.length > 0 ? `; last output: ${output.join(' | ')}` : ''}`;
};

/** How long a report waits for the log to catch up with the status. */
const LOG_SETTLE_MS = 1000;

/**
 * Waits (briefly) until svrun's `EVENT` line, logged at or after `since`, is
 * in log/current: the status file is written at once, the log a moment
 * later, and the lines before that event are what the report should show.
 */
export const logSettled = async (def: ServiceDef, event: string, since: number): Promise<void> => {
  const file = logFile(def.dir, def.name);
  const until = Date.now() + LOG_SETTLE_MS;
  const changes = new Changes([dirname(file)]);
  try {
    for (;;) {
      const seen = tailLines(file, 20).some((l) => l.endsWith(` svrun ${event}`) && Date.parse(l.slice(0, l.indexOf(' '))) >= since);
      if (seen || Date.now() >= until) return;
      await changes.next(until);
    }
  } finally {
    changes.close();
  }
};
