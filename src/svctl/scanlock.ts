// The scan directory's lock (.svctl.lock, proper-lockfile): up, down, restart
// and once change services only while holding it, so two svctl calls never
// interleave. proper-lockfile records no owner, so the holder writes its pid
// and start time to .svctl.lock.owner: waiters name it, and a lock whose
// holder is gone (a SIGKILLed svctl) is taken over at once.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { acquireLock, type LockOptions, type LockResult } from '../supervisor/lock.js';
import { procStartTime } from '../os/proc.js';
import { readSettingsFile } from '../settingsfile.js';
import { exitStatus } from '../signals.js';
import type { Status } from '../statusfile.js';

type Owner = NonNullable<Status['supervisor']>;

/** How often a waiter tries again. */
const RETRY_MS = 50;

export const scanLockPath = (scanDir: string, stateDir = process.env.SVKIT_STATE_DIR): string =>
  join(stateDir || scanDir, '.svctl.lock');

const readOwner = (file: string): Owner | null => {
  // in the scan directory, where anyone who can write a service can plant a FIFO: never a blocking read
  const r = readSettingsFile(file, 4096);
  if (r.kind !== 'ok') return null;
  try {
    const o = JSON.parse(r.text) as Owner;
    return Number.isInteger(o.pid) ? o : null;
  } catch {
    return null;
  }
};

export type ScanLock =
  | { ok: true; release: () => Promise<void> }
  | { ok: false; holder: number | null }
  /** The lock cannot be taken at all (no write access): one line saying what needs which rights. */
  | { ok: false; holder: null; denied: string };

const DENIED = new Set(['EACCES', 'EPERM', 'EROFS']);

/** The line for a lock we may not take: the folder, the file, and what rights changing services needs. */
export const deniedText = (lockPath: string, code: string, stateDir = process.env.SVKIT_STATE_DIR): string => {
  const why = code === 'EROFS' ? 'read-only file system' : 'permission denied';
  const where = stateDir ? '$SVKIT_STATE_DIR' : 'the scan directory (or $SVKIT_STATE_DIR)';
  return `${dirname(lockPath)}: cannot take the scan directory's lock (${basename(lockPath)}): ${why}; changing services needs write access to ${where}`;
};

let held: { lockPath: string; ownerPath: string } | null = null;

/** Removes what we hold synchronously: for signals, where no promise will run. */
const dropHeld = () => {
  if (!held) return;
  rmSync(held.ownerPath, { force: true });
  rmSync(held.lockPath, { recursive: true, force: true });
  held = null;
};

const onSignal = (sig: NodeJS.Signals) => {
  dropHeld();
  process.exit(exitStatus(null, sig));
};

/** One attempt; a permission error becomes `denied` (any other error is thrown). */
const tryLock = async (opts: LockOptions): Promise<LockResult | { ok: false; holder: null; denied: string }> => {
  try {
    mkdirSync(dirname(opts.lockPath), { recursive: true });
    return await acquireLock(opts);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (DENIED.has(code)) return { ok: false, holder: null, denied: deniedText(opts.lockPath, code) };
    throw err;
  }
};

/**
 * Waits for the lock until `deadline` (ms since epoch). While held, a stop
 * signal releases it and exits, unless `exitOnSignal` is false (svctl boot
 * handles its signals itself and releases the lock on its way out).
 */
export const lockScanDir = async (scanDir: string, deadline: number, exitOnSignal = true): Promise<ScanLock> => {
  const lockPath = scanLockPath(scanDir);
  const ownerPath = `${lockPath}.owner`;
  const me: Owner = { pid: process.pid, pidStart: procStartTime(process.pid), startedAt: new Date().toISOString() };
  let holder: number | null = null;
  for (;;) {
    const got = await tryLock({
      dir: scanDir,
      lockPath,
      owner: () => readOwner(ownerPath),
      claim: () => writeFileSync(ownerPath, `${JSON.stringify(me)}\n`),
      // only a waiter that misjudged us dead could take it: say so, keep going
      onCompromised: (err) => process.stderr.write(`svctl: warning: ${lockPath}: ${err.message}\n`),
    });
    if ('denied' in got) return got;
    if (got.ok) {
      held = { lockPath, ownerPath };
      if (exitOnSignal) for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
      return {
        ok: true,
        release: async () => {
          for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(sig, onSignal);
          // the owner file goes first: a lock without one is never taken for a dead holder's
          rmSync(ownerPath, { force: true });
          held = null;
          await got.release().catch(() => {});
        },
      };
    }
    holder = got.holder;
    if (Date.now() >= deadline) return { ok: false, holder };
    await new Promise((r) => setTimeout(r, Math.min(RETRY_MS, Math.max(0, deadline - Date.now()))));
  }
};
