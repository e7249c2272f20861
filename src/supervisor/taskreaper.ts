// Principle 2 after a SIGKILL of svrun: a per-service task reaper. It is a
// tiny /bin/sh script (no second Node), started by svrun outside the
// service's cgroup and in a session of its own, that blocks in `read` on a
// pipe from svrun. svrun tells it, line by line, what to reap (each unit's
// process group with its leader's start time, down-signal, timeout-kill and
// cgroup). A clean exit of svrun says `done` and the reaper exits; any other
// end of svrun closes the pipe (the kernel does that, whatever killed it),
// `read` sees EOF, and the reaper stops what is left exactly as svrun would:
// down-signal and SIGCONT, timeout-kill, SIGKILL (cgroup.kill), service
// first and then its log/ logger, so the logger reads the last lines.
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
import { findReaper, isReaperOf, REAPER_NAME, REAPER_SCRIPT, reaperRecord, type ReapTarget, type ReapUnit, targetLine } from '../supervise/reaper.js';
import { exitText } from '../vocabulary.js';

/**
 * A killed predecessor's reaper still at work: let it finish (it stops the
 * old run as svrun would) rather than race it; past `boundMs` it is killed
 * (at once when `urgent`: a second Ctrl-C) and the caller's leftover
 * handling does the rest. Resolves true if one was found.
 */
export const awaitReaper = async (superviseDir: string, id: string, boundMs: number, urgent: () => boolean = () => false): Promise<boolean> => {
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

/** svrun's side: starts the reaper, keeps it told, dismisses it on a clean exit. */
export class TaskReaper {
  private child: ChildProcess | null = null;
  private readonly lines = new Map<ReapUnit, string>();
  private dismissed = false;
  private retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly superviseDir: string,
    /** The service's identity (src/os/serviceid.ts), the reaper's argv[1]. */
    private readonly id: string,
    private readonly onError: (text: string) => void,
  ) {
    this.start();
  }

  /** The unit's target changed (a new process group, or none): the reaper's next word on it. */
  tell(unit: ReapUnit, target: ReapTarget): void {
    const line = targetLine(unit, target);
    this.lines.set(unit, line);
    this.child?.stdin?.write(line);
  }

  /** A clean exit: the reaper leaves without touching anything; resolves once it is gone (bounded). */
  async dismiss(): Promise<void> {
    this.dismissed = true;
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
    child.stdin?.end('done\n');
    await gone;
    try {
      unlinkSync(reaperRecord(this.superviseDir));
    } catch {
      /* never written */
    }
  }

  private start(): void {
    let child: ChildProcess;
    try {
      // detached: a session of its own, so the terminal's Ctrl-C, Ctrl-Z and hangup never reach it
      child = spawn('/bin/sh', ['-c', REAPER_SCRIPT, REAPER_NAME, this.id], { stdio: ['pipe', 'ignore', 'ignore'], detached: true, cwd: '/' });
    } catch (err) {
      return this.failed(`reaper: ${errorText(err)}`);
    }
    this.child = child;
    child.on('error', (err) => this.failed(`reaper: ${errorText(err)}`));
    child.stdin?.on('error', () => {}); // a dead reaper: its exit is reported below
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = null;
      if (!this.dismissed) this.failed(`reaper: ${exitText({ code, signal })}`);
    });
    if (child.pid === undefined) return;
    child.unref();
    (child.stdin as { unref?: () => void } | null)?.unref?.();
    for (const line of this.lines.values()) child.stdin?.write(line);
    try {
      const record = reaperRecord(this.superviseDir);
      writeOwner(record, { pid: child.pid, pidStart: procStartTime(child.pid) ?? 0 }, (m) => this.onError(`reaper: ${asideText('supervise', m)}`));
    } catch (err) {
      this.onError(`reaper: supervise/reaper: ${errorText(err)}`);
    }
  }

  /** Not fatal (Principle 1): logged, and a new reaper started after a pause. */
  private failed(text: string): void {
    if (this.dismissed || this.retry) return;
    this.child = null;
    this.onError(text);
    this.retry = setTimeout(() => {
      this.retry = null;
      if (!this.dismissed) this.start();
    }, IO_RETRY_MS);
    this.retry.unref();
  }
}
