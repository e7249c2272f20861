// The scan directory's lock (.svctl.lock, proper-lockfile): up, down, restart
// and once change services only while holding it, so two svctl calls never
// interleave. proper-lockfile records no owner, so the holder writes its pid
// and start time to .svctl.lock.owner: waiters name it, and a lock whose
// holder is gone (a SIGKILLed svctl) is taken over at once.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SCAN_LOCK_RETRY_MS } from '../../defaults.js';
import { acquireLock, type LockOptions, type LockResult } from '../../supervise/lock.js';
import { procStartTime } from '../../os/proc.js';
import { scanStatePath } from '../../supervise/paths.js';
import { readSettingsFile } from '../../settingsfile.js';
import type { Status } from '../../supervise/status.js';
import { EXIT_FAILED } from '../../defaults.js';
import { signalled, SvError } from '../../errors.js';

type Owner = NonNullable<Status['supervisor']>;

export const scanLockPath = (scanDir: string, stateDir = process.env.SVKIT_STATE_DIR): string => scanStatePath(scanDir, '.svctl.lock', stateDir);

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
  | {
      ok: true;
      release: () => Promise<void>;
      /**
       * Never settles, unless a stop signal arrives while the lock is held
       * (and `onSignal` was asked for): then the lock is dropped at once and
       * this rejects with the signal's SvError (exit 128+N), for the command
       * to race its work against.
       */
      interrupted: Promise<never>;
    }
  | { ok: false; holder: number | null };

const DENIED = new Set(['EACCES', 'EPERM', 'EROFS']);

/** The line for a lock we may not take: the folder, the file, and what rights changing services needs. */
export const deniedText = (lockPath: string, code: string, stateDir = process.env.SVKIT_STATE_DIR): string => {
  const why = code === 'EROFS' ? 'read-only file system' : 'permission denied';
  const where = stateDir ? '$SVKIT_STATE_DIR' : 'the scan directory (or $SVKIT_STATE_DIR)';
  return `${dirname(lockPath)}: cannot take the scan directory's lock (${basename(lockPath)}): ${why}; changing services needs write access to ${where}`;
};

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** One attempt; a permission error is thrown as an SvError naming the rights needed (exit 1). */
const tryLock = async (opts: LockOptions): Promise<LockResult> => {
  try {
    mkdirSync(dirname(opts.lockPath), { recursive: true });
    return await acquireLock(opts);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (DENIED.has(code)) throw new SvError('svkit.locked', EXIT_FAILED, deniedText(opts.lockPath, code));
    throw err;
  }
};

/**
 * Waits for the lock until `deadline` (ms since epoch). While held, a stop
 * signal drops it and rejects `interrupted`, unless `onSignal` is false
 * (svctl boot handles its signals itself and releases the lock on its way
 * out). Throws an SvError when the lock may not be taken at all.
 */
export const lockScanDir = async (scanDir: string, deadline: number, onSignal = true): Promise<ScanLock> => {
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
    if (got.ok) {
      let interrupt: (err: SvError) => void = () => {};
      const interrupted = new Promise<never>((_, reject) => (interrupt = reject));
      interrupted.catch(() => {}); // whoever races it sees the rejection; no one racing it is no crash
      // synchronously, in the handler: the lock must not outlive us whatever the command does next
      const stop = (sig: NodeJS.Signals) => {
        unlisten();
        rmSync(ownerPath, { force: true });
        rmSync(lockPath, { recursive: true, force: true });
        interrupt(signalled(sig));
      };
      const unlisten = () => {
        for (const sig of STOP_SIGNALS) process.off(sig, stop);
      };
      if (onSignal) for (const sig of STOP_SIGNALS) process.on(sig, stop);
      return {
        ok: true,
        interrupted,
        release: async () => {
          unlisten();
          // the owner file goes first: a lock without one is never taken for a dead holder's
          rmSync(ownerPath, { force: true });
          await got.release().catch(() => {});
        },
      };
    }
    holder = got.holder;
    if (Date.now() >= deadline) return { ok: false, holder };
    await sleep(Math.min(SCAN_LOCK_RETRY_MS, Math.max(0, deadline - Date.now())));
  }
};
