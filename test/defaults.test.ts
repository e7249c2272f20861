// src/defaults.ts is the one home of svkit's timing constants: no other
// module declares a millisecond constant or passes a literal delay to a
// timer, and the values that depend on each other agree.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as d from '../src/defaults.js';
import { ROOT } from './helpers.js';

const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );

/** The client library is loaded into every service and imports only node: built-ins: its few constants are its own. */
const OWN_CONSTANTS = new Set(['src/defaults.ts', 'src/client/index.ts']);

describe('timing constants', () => {
  it('are declared in src/defaults.ts only, and no timer gets a literal delay', () => {
    const found: string[] = [];
    for (const file of sources(join(ROOT, 'src'))) {
      const rel = file.slice(ROOT.length + 1);
      if (OWN_CONSTANTS.has(rel)) continue;
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          const declared = /\bconst [A-Z0-9_]*_MS = [0-9]/.test(line);
          const literal =
            /\b(setTimeout|setInterval|sleep)\([^)]*,\s*[1-9][0-9_]*\)|\bsleep\([1-9][0-9_]*\)|close\(\s*[1-9][0-9_]*\)|= [1-9][0-9_]{2,}\) => writer/.test(
              line,
            );
          if (declared || literal) found.push(`${rel}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(found).toEqual([]);
  });

  it('agree with each other', () => {
    // polled in steps of GROUP_POLL_MS: whole multiples, so the period is what it says
    expect(d.ZOMBIE_LOOK_MS % d.GROUP_POLL_MS).toBe(0);
    expect(d.REAPER_EXIT_WAIT_MS % d.GROUP_POLL_MS).toBe(0);
    expect(d.EXEC_WAIT_MS % d.EXEC_LOOK_MS).toBe(0);
    // a held lock is touched well before it could be called stale
    expect(d.LOCK_UPDATE_MS).toBeLessThan(d.LOCK_STALE_MS);
    expect(d.LOCK_GUARD_RETRY_MS + d.LOCK_GUARD_JITTER_MS).toBeLessThan(d.LOCK_GUARD_STALE_MS);
    // boot's default bound covers one stop at the default timeouts
    expect(d.DEFAULT_SHUTDOWN_TIMEOUT_MS).toBeGreaterThan(d.DEFAULT_TIMEOUT_KILL_MS + d.DEFAULT_TIMEOUT_FINISH_MS + d.STOP_SLACK_MS);
    for (const [name, v] of Object.entries(d)) if (name.endsWith('_MS')) expect(v as number, name).toBeLessThanOrEqual(d.MAX_TIMER_MS);
  });
});
