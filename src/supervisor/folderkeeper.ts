// svrun keeps its supervise/ as others expect to find it. It writes through
// the folder's descriptor (src/os/helddir.ts), so nothing done to the name
// redirects a write; but svctl finds the folder, its status.json and its
// control FIFO by name. So the folder and the name holding it are watched,
// and on any change the name is put right (the folder put back, whatever
// took its place moved aside) and each of the caller's checks runs (the
// control FIFO replaced by a folder, say). Each repair is one line in the
// log. An idle supervisor is woken by nothing here but changes.
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { FOLDER_CHECK_FALLBACK_MS, STATUS_CHECK_DEBOUNCE_MS } from '../defaults.js';
import { errorText } from '../errors.js';
import type { HeldDir } from '../os/helddir.js';
import { asideText } from '../os/safefile.js';
import { type ControlLetter, type ControlReader, openControl } from '../supervise/control.js';

export interface KeeperOptions {
  /**
   * Run after the folder is known to be in place: each returns the line for
   * a repair it made, null, or 'later' to be run again in a moment
   * (FOLDER_CHECK_FALLBACK_MS) even if nothing changes meanwhile.
   */
  checks: (() => string | null | 'later')[];
  /** A repair made, or one that failed (each failure said once). */
  say: (line: string) => void;
  /** The folder was put back or made anew: whatever the caller keeps in it is written again. */
  restored: () => void;
}

export interface FolderKeeper {
  stop(): void;
}

export const keepFolder = (held: HeldDir, o: KeeperOptions): FolderKeeper => {
  let watchers: FSWatcher[] = [];
  let poll: NodeJS.Timeout | null = null;
  let pending: NodeJS.Timeout | null = null;
  let stopped = false;
  const failed = new Set<string>();
  let again: NodeJS.Timeout | null = null;
  const attempt = <T>(fn: () => T): T | null => {
    try {
      const line = fn();
      failed.clear();
      return line;
    } catch (err) {
      const line = `supervise: ${errorText(err)}`;
      if (!failed.has(line)) o.say(line);
      failed.add(line);
      return null;
    }
  };
  const look = () => {
    pending = null;
    if (stopped) return;
    let inPlace = true;
    const restored = attempt(() => {
      inPlace = false;
      const line = held.restore();
      inPlace = true;
      return line;
    });
    if (restored) {
      o.say(restored);
      o.restored();
    }
    // a folder that could not be put back (removed) has nothing left to check
    if (!inPlace) return;
    for (const check of o.checks) {
      const line = attempt(check);
      if (line === 'later')
        again ??= setTimeout(() => {
          again = null;
          soon();
        }, FOLDER_CHECK_FALLBACK_MS);
      else if (line) o.say(line);
    }
  };
  const soon = () => {
    if (!stopped) pending ??= setTimeout(look, STATUS_CHECK_DEBOUNCE_MS);
  };
  const unwatch = () => {
    for (const w of watchers) w.close();
    watchers = [];
  };
  function arm(): void {
    unwatch();
    const name = basename(held.named);
    try {
      // the folder's own changes (its files; moved or removed itself), and its name in the folder above
      const own = watch(held.path, { persistent: false }, soon);
      const above = watch(dirname(held.named), { persistent: false }, (_event, file) => {
        if (file === null || file === name) soon();
      });
      watchers = [own, above];
      for (const w of watchers) w.on('error', fallback);
    } catch {
      fallback();
    }
  }
  /** No inotify watch to be had (or it broke): look now and then instead. */
  function fallback(): void {
    unwatch();
    if (poll || stopped) return;
    poll = setInterval(soon, FOLDER_CHECK_FALLBACK_MS);
    poll.unref();
  }
  arm();
  look(); // what changed before the watches were armed
  return {
    stop: () => {
      stopped = true;
      unwatch();
      if (poll) clearInterval(poll);
      if (pending) clearTimeout(pending);
      if (again) clearTimeout(again);
    },
  };
};

export interface SuperviseOptions {
  /** A letter read from the control FIFO. */
  onLetter: (letter: ControlLetter) => void;
  /** A repair made (one line for the log). */
  say: (line: string) => void;
  /** The FIFO could not be made at all (`control: ...`, for lastError). */
  failed: (text: string) => void;
  /** supervise/ was put back: status.json written again. */
  restored: () => void;
}

/**
 * svrun's supervise/ while it supervises: its control FIFO read (a folder
 * planted there moved aside), and the folder and the FIFO put right when
 * moved or replaced (keepFolder). close() stops both.
 */
export const keepSupervise = (held: HeldDir, controlPath: string, o: SuperviseOptions): { close(): void } => {
  let control: ControlReader | null = null;
  try {
    control = openControl(controlPath, o.onLetter, (m) => o.say(asideText('supervise', m, 'a FIFO')));
  } catch (err) {
    o.failed(`control: ${errorText(err)}`);
  }
  const keeper = keepFolder(held, { checks: [() => control?.recheck(FOLDER_CHECK_FALLBACK_MS) ?? null], say: o.say, restored: o.restored });
  return {
    close: () => {
      keeper.stop();
      control?.close();
    },
  };
};
