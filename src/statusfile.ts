// supervise/status.json, schema version 1: written atomically (temporary
// file in the same folder, fsync, rename) so no reader ever sees half of it.
import { readFileSync, type Stats } from 'node:fs';
import { replaceFile } from './safefile.js';
import type { ServiceType } from './servicedir.js';

export type Want = 'up' | 'down' | 'once';
export type State = 'starting' | 'up' | 'stopping' | 'finishing' | 'backoff' | 'down' | 'failed';
export const STATES: readonly State[] = ['starting', 'up', 'stopping', 'finishing', 'backoff', 'down', 'failed'];

export interface LastExit {
  code: number | null;
  signal: string | null;
  at: string;
}

export interface LogStatus {
  state: State;
  pid: number | null;
  pidStart: number | null;
  restarts: number;
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
}

export type ReadStatus = { kind: 'missing' } | { kind: 'corrupt'; reason: string } | { kind: 'ok'; status: Status };

export const readStatus = (file: string): ReadStatus => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'corrupt', reason: (err as Error).message };
  }
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
 * Atomic replace, never through a planted symlink (src/safefile.ts); 0644:
 * svctl reads it as any user. Returns the new file's fstat; throws on failure
 * (the caller records and retries).
 */
export const writeStatus = (file: string, status: Status): Stats => replaceFile(file, statusText(status), 0o644, true);
