// Why a service did not come up or go down, as the one line svctl prints:
// its last error when the supervisor recorded one, else the last lines of
// its log, which usually say what the service itself complained about.
import type { ServiceDef } from '../servicedir.js';
import type { LastExit, Status } from '../statusfile.js';
import { logFile, tailLines, withoutTime } from './logs.js';

const LOG_LINES = 3;

export const exitText = (e: LastExit | null): string =>
  e === null ? 'no exit yet' : e.signal ? `killed by ${e.signal}` : `exited ${e.code}`;

/** `: <last error>` or `; last log lines: a | b | c` (or nothing when there is neither). */
export const detail = (def: ServiceDef, s: Status | null): string => {
  if (s?.lastError) return `: ${s.lastError}`;
  const lines = tailLines(logFile(def.dir, def.name), LOG_LINES).map(withoutTime);
  return lines.length > 0 ? `; last log lines: ${lines.join(' | ')}` : '';
};
