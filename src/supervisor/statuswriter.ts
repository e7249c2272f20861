// status.json and supervise/pid as a supervisor keeps them: written when
// what they say changed, a failed write retried, and both watched, so that a
// write by anyone else (an overwrite, a replacement, a removal) is undone
// at once rather than left wrong until the next change of state.
import { type FSWatcher, lstatSync, type Stats, watch } from 'node:fs';
import { IO_RETRY_MS, STATUS_CHECK_DEBOUNCE_MS, STATUS_CHECK_FALLBACK_MS } from '../defaults.js';
import { errorText } from '../errors.js';
import { type Aside, asideText, replaceFile } from '../os/safefile.js';
import { watchErrorText } from '../os/watch.js';
import type { ServicePaths } from '../supervise/paths.js';
import { type Status, writeStatus } from '../supervise/status.js';
import type { Core } from './state.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** What status.json says of a unit whose state machine is at `c` (times as ISO 8601 UTC). */
export const statusOf = (
  c: Core,
  unit: Pick<Status, 'name' | 'type' | 'supervisor' | 'log' | 'cgroup' | 'settings' | 'limits' | 'reload'>,
): Status => ({
  version: 1,
  name: unit.name,
  type: unit.type,
  supervisor: unit.supervisor,
  want: c.want,
  state: c.state,
  since: iso(c.since)!,
  pid: c.pid,
  pidStart: c.pidStart,
  startedAt: iso(c.startedAt),
  readyAt: iso(c.readyAt),
  restarts: c.restarts,
  lastExit: c.lastExit,
  log: unit.log,
  nextStartAt: iso(c.nextStartAt),
  lastError: c.lastError,
  health: c.health && { ok: c.health.ok, failures: c.health.failures, lastCheckAt: iso(c.health.lastCheckAt) },
  cgroup: unit.cgroup,
  settings: unit.settings,
  limits: unit.limits,
  // only a unit that reloads has the field: its presence tells svctl the supervisor knows `l`
  ...(unit.reload !== undefined && { reload: unit.reload }),
});

export interface StatusWriterHooks {
  /** What status.json should say now. */
  current(): Status;
  /** A write failed (`status: ...`); it is retried. */
  failed(text: string): void;
  /** A write succeeded. */
  written(): void;
  /** Something planted where status.json or pid goes was moved aside: one line for the log. */
  repaired(text: string): void;
  /** No inotify watch to be had (`text` says why): told once, the files are looked at on a timer instead. */
  unwatched?(text: string): void;
}

export class StatusWriter {
  private written = '';
  /** null: not written yet (the first write writes it, empty when there is no pid). */
  private writtenPid: string | null = null;
  private retry: NodeJS.Timeout | null = null;
  private watchers: FSWatcher[] = [];
  private checkTimer: NodeJS.Timeout | null = null;
  /** How status.json and pid looked when we wrote them (fstat before the rename). */
  private readonly mine = new Map<string, string>();
  private closed = false;
  private toldUnwatched = false;

  constructor(
    private readonly paths: Pick<ServicePaths, 'status' | 'pid'>,
    private readonly hooks: StatusWriterHooks,
  ) {}

  /**
   * Writes status.json (and supervise/pid) when they changed, or when `force`d
   * (someone else wrote them); a failure is told and retried.
   */
  write(force = false): void {
    const status = this.hooks.current();
    const text = JSON.stringify(status);
    const pidText = status.pid === null ? '' : `${status.pid}\n`;
    if (!force && text === this.written && pidText === this.writtenPid) return;
    const aside = (m: Aside) => this.hooks.repaired(asideText('supervise', m));
    let failure: unknown = null;
    // each on its own: a pid file that cannot be written never keeps status.json from saying what runs
    try {
      // 0644, like status.json: a pid is no secret, and tools that read pid files may run as anyone
      if (force || pidText !== this.writtenPid)
        this.mine.set(this.paths.pid, signature(replaceFile(this.paths.pid, pidText, 0o644, aside)));
      this.writtenPid = pidText;
    } catch (err) {
      failure = err;
    }
    try {
      this.mine.set(this.paths.status, signature(writeStatus(this.paths.status, status, aside)));
      this.written = text;
    } catch (err) {
      failure ??= err;
    }
    if (failure !== null) {
      const err = failure;
      this.hooks.failed(`status: ${errorText(err)}`);
      // the last writes (after close) are not retried: the folder may be gone, and the host lives on
      if (this.closed) return;
      this.retry ??= setTimeout(() => {
        this.retry = null;
        this.write();
      }, IO_RETRY_MS);
      return;
    }
    this.watch();
    this.hooks.written();
  }

  /** No more writes, retries or watches (the supervisor's last status is written). */
  close(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.checkTimer) clearTimeout(this.checkTimer);
    this.checkTimer = null;
  }

  /**
   * status.json and pid are watched (inotify, one watch each, re-armed after
   * each of our writes since a write replaces the file). The watches do not
   * keep svrun alive, and our own writes compare equal, so never loop.
   * Where inotify is not available, a slow timer looks instead.
   */
  private watch(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.closed) return;
    try {
      for (const f of this.mine.keys()) {
        const w = watch(f, { persistent: false }, () => this.scheduleCheck());
        w.on('error', () => this.scheduleCheck());
        this.watchers.push(w);
      }
    } catch (err) {
      // removed already: write it again soon; no inotify watch left: look now and then
      const gone = (err as NodeJS.ErrnoException).code === 'ENOENT';
      if (!gone && !this.toldUnwatched) {
        this.toldUnwatched = true;
        this.hooks.unwatched?.(
          `status: cannot watch status.json (${watchErrorText(err)}); looking every ${STATUS_CHECK_FALLBACK_MS / 1000} s instead`,
        );
      }
      this.scheduleCheck(gone ? STATUS_CHECK_DEBOUNCE_MS : STATUS_CHECK_FALLBACK_MS);
      return;
    }
    // a write between ours and the watch is seen by no watch: look once now
    if (this.changed()) this.scheduleCheck();
  }

  /** True when status.json or pid is not as svrun wrote it. */
  private changed(): boolean {
    return [...this.mine].some(([f, sig]) => signatureOf(f) !== sig);
  }

  private scheduleCheck(ms = STATUS_CHECK_DEBOUNCE_MS): void {
    if (this.checkTimer || this.closed) return;
    this.checkTimer = setTimeout(() => {
      this.checkTimer = null;
      if (this.changed()) this.write(true);
      else this.watch();
    }, ms);
    this.checkTimer.unref();
  }
}

/** How a file looks (inode, mode, size, mtime): tells svrun's last write from anyone else's. */
const signature = (st: Stats): string => `${st.ino} ${st.mode} ${st.size} ${st.mtimeMs}`;

/** The file's signature now; a file that is gone never matches. */
const signatureOf = (path: string): string => {
  try {
    return signature(lstatSync(path));
  } catch {
    return 'missing';
  }
};
