// The scan directory's lock (.svctl.lock, proper-lockfile): up, down, restart
// and once change services only while holding it, so two svctl calls never
// interleave. The holder names itself in .svctl.lock.owner (src/supervise/owner.ts): waiters name it, and a lock whose
// holder is gone (a SIGKILLed svctl) is taken over at once.
import { mkdirSync, rmSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SCAN_LOCK_RETRY_MS, SCAN_LOCK_STALL_MS, SCAN_LOCK_WAIT_MIN_MS } from '../../defaults.js';
import { beat, sinceBeat } from './lockwait.js';
import { type Graph, levels } from '../../graph.js';
import type { Scan } from '../../scan.js';
import { stopTimeoutMs } from './stopplan.js';
import { acquireLock, type LockOptions, type LockResult } from '../../supervise/lock.js';
import { readOwner, self, writeOwner } from '../../supervise/owner.js';
import { scanStatePath } from '../../supervise/paths.js';
import { EXIT_FAILED } from '../../defaults.js';
import { signalled, SvError } from '../../errors.js';

export const scanLockPath = (scanDir: string, stateDir = process.env.SVKIT_STATE_DIR): string =>
  scanStatePath(scanDir, '.svctl.lock', stateDir);

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
  /** Not had: by the deadline, or (`stalledMs`) because its live holder stopped beating (lockwait.ts). */
  | { ok: false; holder: number | null; stalledMs?: number };

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
 * Waits for the lock until `deadline` (ms since epoch), or with no deadline
 * as long as its holder beats (lockwait.ts); `onWait` is told each new
 * holder waited for. While held, the lock beats, and a stop signal drops it
 * and rejects `interrupted`, unless `onSignal` is false (svctl boot handles
 * its signals itself and releases the lock on its way out). Throws an
 * SvError when the lock may not be taken at all.
 */
export const lockScanDir = async (
  scanDir: string,
  deadline: number | null,
  onSignal = true,
  onWait: (holder: number | null) => void = () => {},
): Promise<ScanLock> => {
  const lockPath = scanLockPath(scanDir);
  const ownerPath = `${lockPath}.owner`;
  const me = self();
  let holder: number | null = null;
  /** The holder last told to onWait (undefined: none yet). */
  let told: number | null | undefined;
  for (;;) {
    const got = await tryLock({
      dir: scanDir,
      lockPath,
      owner: () => readOwner(ownerPath),
      // never through a symlink planted in the scan directory (src/supervise/owner.ts)
      claim: () => writeOwner(ownerPath, me),
      // only a waiter that misjudged us dead could take it: say so, keep going
      onCompromised: (err) => process.stderr.write(`svctl: warning: ${lockPath}: ${err.message}\n`),
    });
    if (got.ok) {
      const stopBeating = beat(ownerPath);
      let interrupt: (err: SvError) => void = () => {};
      const interrupted = new Promise<never>((_, reject) => (interrupt = reject));
      interrupted.catch(() => {}); // whoever races it sees the rejection; no one racing it is no crash
      // synchronously, in the handler: the lock must not outlive us whatever the command does next
      const stop = (sig: NodeJS.Signals) => {
        unlisten();
        stopBeating();
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
          stopBeating();
          // the owner file goes first: a lock without one is never taken for a dead holder's
          rmSync(ownerPath, { force: true });
          await got.release().catch(() => {});
        },
      };
    }
    if (got.holder !== holder || told === undefined) onWait(got.holder);
    told = holder = got.holder;
    if (deadline !== null && Date.now() >= deadline) return { ok: false, holder };
    const stalledMs = deadline === null && holder !== null ? sinceBeat(ownerPath) : null;
    if (stalledMs !== null && stalledMs > SCAN_LOCK_STALL_MS) return { ok: false, holder, stalledMs };
    await sleep(Math.min(SCAN_LOCK_RETRY_MS, Math.max(0, (deadline ?? Infinity) - Date.now())));
  }
};

/** The sum over the levels of `g` of the longest wait on each level. */
const levelWaits = (g: Graph, waitOf: (name: string) => number): number => {
  let total = 0;
  for (const level of levels(g)) total += Math.max(0, ...level.map(waitOf));
  return Math.max(total, SCAN_LOCK_WAIT_MIN_MS);
};

/**
 * How long svctl boot waits for the lock before it goes on without it: as
 * long as another svctl may legitimately take to bring the whole directory
 * up or down, level by level.
 */
export const defaultLockWaitMs = (scan: Scan): number =>
  levelWaits(scan.graph, (name) => {
    const d = scan.services.get(name)!;
    return Math.max(d.timeoutReadyMs, stopTimeoutMs(d));
  });
