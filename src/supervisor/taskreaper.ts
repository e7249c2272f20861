// Principle 2 after a SIGKILL of svrun: a task reaper. It is a tiny
// /bin/sh script (no second Node), started by svrun outside the services'
// cgroups and in a session of its own, that blocks in `read` on a pipe from
// svrun; one serves every service svrun supervises. svrun tells it, line by
// line, what to reap (each unit's process group with its leader's start
// time, down-signal, timeout-kill and cgroup). A service whose supervision
// ends cleanly is dismissed; svrun's clean exit says `done` and the reaper
// exits; any other end of svrun closes the pipe (the kernel does that,
// whatever killed it), `read` sees EOF, and the reaper stops what is left
// of each service exactly as svrun would: down-signal and SIGCONT,
// timeout-kill, SIGKILL (cgroup.kill), service first and then its log/
// logger, so the logger reads the last lines.
//
// The reaper signals a process group only while its leader is either gone
// (a group id is never reused while the group has members) or the very
// process svrun named (same start time), and a cgroup only when svrun named
// it: svrun computed it, nothing read from the service folder is trusted.
// The script, its input lines and its record in supervise/reaper are the
// protocol's part (src/supervise/reaper.ts); this is svrun's side.
import { type ChildProcess, spawn } from 'node:child_process';
import { unlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { GROUP_POLL_MS, IO_RETRY_MS, REAPER_EXIT_WAIT_MS } from '../defaults.js';
import { errorText } from '../errors.js';
import { procStartTime } from '../os/proc.js';
import { asideText } from '../os/safefile.js';
import { writeOwner } from '../supervise/owner.js';
import {
  ALL_DONE,
  doneLine,
  findReaper,
  isReaperOf,
  reaperArgv,
  type ReaperFolder,
  reaperRecord,
  type ReapTarget,
  type ReapUnit,
  targetLine,
} from '../supervise/reaper.js';
import { exitText } from '../vocabulary.js';

/**
 * A killed predecessor's reaper still at work: let it finish (it stops the
 * old run as svrun would) rather than race it; past `boundMs` it is killed
 * (at once when `urgent`: a second Ctrl-C) and the caller's leftover
 * handling does the rest. Resolves true if one was found.
 */
export const awaitReaper = async (
  superviseDir: string,
  id: string,
  boundMs: number,
  urgent: () => boolean = () => false,
): Promise<boolean> => {
  const found = findReaper(superviseDir, id);
  if (!found) return false;
  const end = Date.now() + boundMs;
  while (Date.now() < end && !urgent()) {
    if (!findReaper(superviseDir, id)) return true;
    await sleep(GROUP_POLL_MS);
  }
  if (isReaperOf(id, found.pid, found.start)) {
    try {
      process.kill(found.pid, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
  }
  for (let i = 0; i < REAPER_EXIT_WAIT_MS / GROUP_POLL_MS && findReaper(superviseDir, id); i++) await sleep(GROUP_POLL_MS);
  return true;
};

/** One folder's part of the reaper: what to stop should svrun die now, and the clean end. */
export interface ReaperPart {
  /** The unit's target changed (a new process group, or none): the reaper's next word on it. */
  tell(unit: ReapUnit, target: ReapTarget): void;
  /** The folder's supervision ended cleanly: the reaper forgets it, its record goes. */
  dismiss(): void;
}

/**
 * svrun's side: one reaper for every folder svrun supervises (a lone
 * svrun's one, a host's many), started when the first of them starts a
 * process, kept told, and dismissed once all ended cleanly.
 */
export class TaskReaper {
  private child: ChildProcess | null = null;
  /** The last word on each folder's units, by `INDEX UNIT`: replayed to a new reaper. */
  private readonly lines = new Map<string, string>();
  /** Folders (by index, from 1) whose supervision joined and has not ended: their records name the reaper. */
  private readonly joined = new Map<number, { dir: string; onError: (text: string) => void }>();
  private closed = false;
  private retry: NodeJS.Timeout | null = null;

  /** `folders`: each service svrun supervises, in order: the reaper's argv. */
  constructor(private readonly folders: readonly ReaperFolder[]) {}

  /**
   * The part of the service `id` (one of the constructor's), its record
   * written through `superviseDir` (svrun's held path); starts the reaper
   * if none runs. `onError`: that service's log.
   */
  join(id: string, superviseDir: string, onError: (text: string) => void): ReaperPart {
    const index = this.folders.findIndex((f) => f.id === id) + 1;
    this.joined.set(index, { dir: superviseDir, onError });
    if (this.child) this.record(index);
    else if (!this.retry) this.start();
    return {
      tell: (unit, target) => {
        const line = targetLine(unit, target, index);
        this.lines.set(`${index} ${unit}`, line);
        this.child?.stdin?.write(line);
      },
      dismiss: () => {
        if (!this.joined.delete(index)) return;
        for (const unit of ['run', 'log']) this.lines.delete(`${index} ${unit}`);
        this.child?.stdin?.write(doneLine(index));
        unlinkQuietly(reaperRecord(superviseDir));
      },
    };
  }

  /** Every supervision ended cleanly: the reaper leaves without touching anything; resolves once it is gone (bounded). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    const child = this.child;
    if (!child) return;
    // ref'd again: svrun must live until the reaper is gone (bounded)
    child.ref();
    const gone = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(resolve, REAPER_EXIT_WAIT_MS);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    child.stdin?.end(ALL_DONE);
    await gone;
    for (const { dir } of this.joined.values()) unlinkQuietly(reaperRecord(dir));
  }

  private start(): void {
    let child: ChildProcess;
    try {
      // detached: a session of its own, so the terminal's Ctrl-C, Ctrl-Z and hangup never reach it
      const [file, ...args] = reaperArgv(this.folders);
      child = spawn(file!, args, { stdio: ['pipe', 'ignore', 'ignore'], detached: true, cwd: '/' });
    } catch (err) {
      return this.failed(`reaper: ${errorText(err)}`);
    }
    this.child = child;
    child.on('error', (err) => this.failed(`reaper: ${errorText(err)}`));
    child.stdin?.on('error', () => {}); // a dead reaper: its exit is reported below
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = null;
      if (!this.closed) this.failed(`reaper: ${exitText({ code, signal })}`);
    });
    if (child.pid === undefined) return;
    child.unref();
    (child.stdin as { unref?: () => void } | null)?.unref?.();
    for (const line of this.lines.values()) child.stdin?.write(line);
    for (const index of this.joined.keys()) this.record(index);
  }

  /** supervise/reaper of a joined folder names the reaper (src/supervise/owner.ts). */
  private record(index: number): void {
    const part = this.joined.get(index);
    const pid = this.child?.pid;
    if (!part || pid === undefined) return;
    try {
      writeOwner(reaperRecord(part.dir), { pid, pidStart: procStartTime(pid) ?? 0 }, (m) =>
        part.onError(`reaper: ${asideText('supervise', m)}`),
      );
    } catch (err) {
      part.onError(`reaper: supervise/reaper: ${errorText(err)}`);
    }
  }

  /** Not fatal (Principle 1): logged in each service it serves, and a new reaper started after a pause. */
  private failed(text: string): void {
    if (this.closed || this.retry) return;
    this.child = null;
    for (const { onError } of this.joined.values()) onError(text);
    this.retry = setTimeout(() => {
      this.retry = null;
      if (!this.closed) this.start();
    }, IO_RETRY_MS);
    this.retry.unref();
  }
}

const unlinkQuietly = (file: string): void => {
  try {
    unlinkSync(file);
  } catch {
    /* never written, or gone with its folder */
  }
};
