// Why a service did not come up or go down, as the one line svctl prints:
// the supervisor's last error when it recorded one, and the last lines the
// service itself wrote to its log, which usually say what it complained about.
import { dirname } from 'node:path';
import { LOG_SETTLE_MS } from '../../defaults.js';
import type { ServiceDef } from '../../servicedir.js';
import { parseEvent, parseLine } from '../../log/format.js';
import type { Status } from '../../supervise/status.js';
import { logFile, tailLines } from '../../log/tail.js';
import { ChangeWaiter } from './changewait.js';
import type { State } from '../../vocabulary.js';

const OUTPUT_LINES = 3;
/** How far back to look for the service's own lines among svrun's events. */
const SCAN_LINES = 50;

/** `: <last error>` when recorded, then `; last output: a | b | c` when the service wrote any. */
export const failureDetail = (def: ServiceDef, s: Status | null): string => {
  const output = tailLines(logFile(def.dir, def.name), SCAN_LINES)
    .map(parseLine)
    .flatMap((l) => (l && l.stream !== 'svrun' ? [`${l.stream} ${l.text}`] : []))
    .slice(-OUTPUT_LINES);
  return `${s?.lastError ? `: ${s.lastError}` : ''}${output.length > 0 ? `; last output: ${output.join(' | ')}` : ''}`;
};

/**
 * Waits (briefly) until svrun's line saying the service came to rest in
 * `state` (`down`, `failed`), logged at or after `since`, is in log/current:
 * the status file is written at once, the log a moment later, and the lines
 * before that event are what the report should show.
 */
export const logSettled = async (def: ServiceDef, state: State, since: number): Promise<void> => {
  const file = logFile(def.dir, def.name);
  const until = Date.now() + LOG_SETTLE_MS;
  const changes = new ChangeWaiter([dirname(file)]);
  try {
    for (;;) {
      const seen = tailLines(file, 20).some((text) => {
        const l = parseLine(text);
        const e = l?.stream === 'svrun' ? parseEvent(l.text) : null;
        return e?.kind === 'settled' && e.state === state && Date.parse(l!.at) >= since;
      });
      if (seen || Date.now() >= until) return;
      await changes.next(until);
    }
  } finally {
    changes.close();
  }
};
