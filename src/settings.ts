// The files svkit reads in a service folder, in one place (docs/services.md
// has a table for each), and the files that look like a mistyped one:
// `timeout_kill` is silently no setting at all, so svctl up and svrun warn
// about it, once, naming the likely intended file, and start all the same.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { closest, didYouMean } from './nearname.js';
import { printable } from './errors.js';

/** Every setting read from a service folder, files and folders (docs/services.md). */
export const SETTING_FILES = [
  'run',
  'type',
  'requires',
  'down',
  'finish',
  'stop',
  'env',
  'notification-fd',
  'check',
  'timeout-ready',
  'down-signal',
  'timeout-kill',
  'timeout-finish',
  'restart',
  'user',
  'log',
  'health-interval',
  'health-retries',
  'health-timeout',
  'watchdog',
  'memory-max',
  'cpu-max',
  'pids-max',
  'nofile',
  'listen',
] as const;

/** What svkit itself keeps in a service folder. */
const OWN_FILES = ['supervise'];

const KNOWN = new Set<string>([...SETTING_FILES, ...OWN_FILES]);

/** The setting a file name most likely meant (`timeout_kill`, `Timeout-Kill`, `timeout-kil`), or null: a setting itself, or no near one. */
export const meantSetting = (file: string): string | null => {
  if (KNOWN.has(file) || file.startsWith('.')) return null;
  const folded = file.toLowerCase().replace(/_/g, '-');
  if (KNOWN.has(folded)) return folded;
  const near = closest(folded, SETTING_FILES);
  return near.length === 1 ? near[0]! : null;
};

/**
 * One warning line per file of the service folder `dir` (named `name`)
 * that looks like a mistyped setting: `web/timeout_kill: not a setting
 * (did you mean timeout-kill?)`. Only regular files are looked at (a folder
 * of the service's own data is its business); nothing is read.
 */
export const settingNearMisses = (dir: string, name: string): string[] => {
  let files: string[];
  try {
    files = readdirSync(dir).sort();
  } catch {
    return [];
  }
  return files.flatMap((file) => {
    const meant = meantSetting(file);
    if (meant === null) return [];
    try {
      if (!statSync(join(dir, file)).isFile()) return [];
    } catch {
      return [];
    }
    return [`${printable(name)}/${printable(file)}: not a setting svkit reads, ignored${didYouMean([meant])}`];
  });
};
