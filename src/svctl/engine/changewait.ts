// Waiting for changes without a busy loop: fs.watch on the folders (the
// supervise folders for status.json, the log folders for `logs -f`) wakes
// svctl at once, and a poll every `pollMs` covers what inotify misses (a
// folder created later, NFS).
import { type FSWatcher, watch } from 'node:fs';
import { CHANGE_POLL_MS } from '../../defaults.js';

/**
 * Waits for the next change in any of `dirs` (a file there written,
 * created, renamed or removed: status.json, log/current), or for a poke.
 * Callers look at what they wait for, then call next(): a change between
 * the look and next() is not lost (it marks the waiter dirty).
 */
export class ChangeWaiter {
  private readonly watchers = new Map<string, FSWatcher>();
  private wake: (() => void) | null = null;
  private dirty = false;
  private closed = false;

  constructor(
    private readonly dirs: readonly string[],
    private readonly pollMs = CHANGE_POLL_MS,
    /** Which file names wake the waiter (default: any); a supervisor's other files change a dozen times per start. */
    private readonly wakesOn: (file: string) => boolean = () => true,
    /** The poll while every folder is watched, for a caller whose other changes come as pokes. */
    private readonly watchedPollMs = pollMs,
  ) {
    this.arm();
  }

  /** Resolves at the next change, after at most `pollMs`, never after `until`, and at once once closed. */
  async next(until = Infinity): Promise<void> {
    if (this.closed) return;
    this.arm();
    if (this.dirty) {
      this.dirty = false;
      return;
    }
    const poll = this.watchers.size === this.dirs.length ? this.watchedPollMs : this.pollMs;
    const ms = Math.max(0, Math.min(poll, until - Date.now()));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        if (self.wake === done) self.wake = null;
        resolve();
      }
      this.wake = done;
    });
    this.dirty = false;
  }

  /** Something other than a file changed (a child exited): wake the waiter now. */
  poke(): void {
    this.dirty = true;
    this.wake?.();
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    this.wake?.();
  }

  /** Watches each folder that exists now; a missing one is tried again at the next wait. */
  private arm(): void {
    for (const dir of this.dirs) {
      if (this.watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, (_event, file) => {
          if (file === null || this.wakesOn(file)) this.poke();
        });
        w.on('error', () => {
          w.close();
          this.watchers.delete(dir);
        });
        this.watchers.set(dir, w);
      } catch {
        /* not there yet: the poll covers it */
      }
    }
  }
}

/** What a wait on supervisors needs to see: status.json replaced (every state a supervisor records). */
export const STATUS_CHANGES = (file: string): boolean => file === 'status.json';
