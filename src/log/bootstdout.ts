// How a scan directory's supervisors log while svctl boot runs it: to boot's
// stdout (`docker logs`), also the supervisors that a later `svctl restart`,
// `up` or `once` starts, from inside the container or outside it. boot keeps
// two things in the scan directory's state (next to .svctl.lock):
//
// - `.svctl.boot`, the recorded setting: `{"log":"stdout","logWidth":N}`
//   (the width pads names as boot's own supervisors do);
// - `.svctl.stdout`, a FIFO boot reads and copies, whole lines at a time, to
//   its own stdout. A supervisor started by svctl gets the FIFO's write end
//   as its stdout and `--log stdout --log-width N`.
//
// The FIFO, not boot's pid, says whether the record holds: it works across
// pid namespaces (a pid in the record would name another process outside the
// container), and a writer that finds no reader (ENXIO: boot is gone, the
// record stale) starts the supervisor as usual, logging to log/current.
import { closeSync, constants, mkdirSync, readSync, unlinkSync, write } from 'node:fs';
import { dirname } from 'node:path';
import { Socket } from 'node:net';
import { PIPE_RETRY_MS } from '../defaults.js';
import { errorText } from '../errors.js';
import { ensureFifo, openFifo, openWriter } from '../os/fifo.js';
import { replaceFile } from '../os/safefile.js';
import { scanStatePath } from '../supervise/paths.js';
import { readSettingsFile } from '../settingsfile.js';

export const BOOT_RECORD = '.svctl.boot';
export const BOOT_STDOUT = '.svctl.stdout';

export interface BootRecord {
  log: 'stdout';
  /** svrun's --log-width: the longest service name when boot started. */
  logWidth: number;
  /** boot's stdout is a terminal that takes colours: svrun's --log-color, so names are coloured as boot's own supervisors' are. */
  color?: boolean;
  /** Where boot's stdout goes, as a person finds it (stdoutwhere.ts): what `svctl logs` says. */
  where?: string;
}

/** A `where` longer than this is no record of boot's. */
const MAX_WHERE = 256;

/** The record's text, or null when it is not one boot wrote (anything else in the file is ignored, never trusted). */
export const parseBootRecord = (text: string): BootRecord | null => {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  const r = v as Partial<BootRecord> | null;
  if (r === null || typeof r !== 'object' || r.log !== 'stdout') return null;
  if (!Number.isInteger(r.logWidth) || r.logWidth! < 0 || r.logWidth! > 255) return null;
  const rec: BootRecord = { log: 'stdout', logWidth: r.logWidth! };
  if (r.color === true) rec.color = true;
  // said to a person as it is: printable, one line, short
  if (typeof r.where === 'string' && r.where.length <= MAX_WHERE && /^[\x20-\x7e]+$/.test(r.where)) rec.where = r.where;
  return rec;
};

export const readBootRecord = (scanDir: string): BootRecord | null => {
  const r = readSettingsFile(scanStatePath(scanDir, BOOT_RECORD), 4096);
  return r.kind === 'ok' ? parseBootRecord(r.text) : null;
};

/** boot's stdout as a FIFO write end (non-blocking; svrun's log writer retries a full pipe), or null: no boot reads it. */
const openBootStdout = (scanDir: string): number | null => {
  try {
    return openWriter(scanStatePath(scanDir, BOOT_STDOUT));
  } catch {
    return null; // EACCES (another user's boot) and the like: not ours to write
  }
};

/** How to start a supervisor of this scan directory: as svctl boot records it, while it runs; null: as usual (log/current). */
export const recordedOutput = (scanDir: string): { args: string[]; stdout: number } | null => {
  const rec = readBootRecord(scanDir);
  if (rec === null) return null;
  const fd = openBootStdout(scanDir);
  if (fd === null) return null;
  return { args: ['--log', 'stdout', '--log-width', String(rec.logWidth), ...(rec.color ? ['--log-color'] : [])], stdout: fd };
};

/** Where the supervisors' lines go while svctl boot runs this scan directory (`the terminal /dev/pts/3`, `its stdout`), or null: no boot runs it. */
export const bootStdoutWhere = (scanDir: string): string | null => {
  const out = recordedOutput(scanDir);
  if (!out) return null;
  closeSync(out.stdout);
  return readBootRecord(scanDir)?.where ?? 'its stdout';
};

/** Largest write of whole lines: a pipe write up to PIPE_BUF is never interleaved with another supervisor's line. */
const BATCH_BYTES = 4096;
/** Past this much not yet written to stdout, the FIFO is not read (its writers wait, as on a full stdout). */
const HIGH_WATER_BYTES = 256 * 1024;
/** A line longer than this is passed on without waiting for its end. */
const MAX_CARRY_BYTES = 64 * 1024;

export interface BootStdout {
  /** Unlinks the record and the FIFO, copies what is left in it (within `ms`), and stops. */
  close(ms?: number): Promise<void>;
}

/**
 * svctl boot: creates the FIFO (anew: no stale reader or writer shares it),
 * copies what arrives to fd 1, then writes the record. Null, after saying
 * why through `say`, when the state folder does not take them (read-only,
 * without $SVKIT_STATE_DIR): supervisors started by svctl then log as usual.
 */
export const startBootStdout = async (
  scanDir: string,
  logWidth: number,
  say: (line: string) => void,
  more: Pick<BootRecord, 'color' | 'where'> = {},
): Promise<BootStdout | null> => {
  const fifo = scanStatePath(scanDir, BOOT_STDOUT);
  const record = scanStatePath(scanDir, BOOT_RECORD);
  let rfd: number;
  let wfd: number;
  try {
    mkdirSync(dirname(fifo), { recursive: true }); // $SVKIT_STATE_DIR may not exist yet
    unlinkQuietly(fifo);
    ensureFifo(fifo);
    const opened = openFifo(fifo); // not following a symlink, and only a FIFO
    rfd = opened.fd;
    // held open for writing too: the last supervisor's exit is no end of file
    wfd = opened.again(constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (err) {
    say(`boot: ${fifo}: ${errorText(err)}; supervisors that svctl starts will log to log/current`);
    return null;
  }
  const copy = new LineCopier();
  const socket = new Socket({ fd: rfd, readable: true, writable: false });
  copy.onBacklog = (full) => (full ? socket.pause() : socket.resume());
  socket.on('data', (chunk: Buffer) => copy.push(chunk));
  socket.on('error', () => {
    /* the FIFO is boot's own: nothing to do but stop copying */
  });
  try {
    replaceFile(record, `${JSON.stringify({ log: 'stdout', logWidth, ...more } satisfies BootRecord)}\n`, 0o644);
  } catch (err) {
    say(`boot: ${record}: ${errorText(err)}; supervisors that svctl starts will log to log/current`);
  }
  return {
    close: async (ms = 1000) => {
      unlinkQuietly(record);
      unlinkQuietly(fifo);
      socket.pause();
      // what the socket read but did not hand on yet, then what the last supervisors wrote since, in order
      for (let c = socket.read() as Buffer | null; c !== null; c = socket.read() as Buffer | null) copy.push(c);
      const buf = Buffer.alloc(65536);
      for (;;) {
        let n = 0;
        try {
          n = readSync(rfd, buf, 0, buf.length, null);
        } catch {
          break; // EAGAIN: empty
        }
        if (n <= 0) break;
        copy.push(Buffer.from(buf.subarray(0, n)));
      }
      await copy.drained(ms);
      socket.destroy();
      closeSync(wfd);
    },
  };
};

const unlinkQuietly = (path: string): void => {
  try {
    unlinkSync(path);
  } catch {
    /* not there */
  }
};

/** Copies a byte stream to fd 1 in whole lines, one write at a time, with back-pressure. */
class LineCopier {
  private carry: Buffer = Buffer.alloc(0);
  private queue: Buffer[] = [];
  private queued = 0;
  private busy = false;
  onBacklog: (full: boolean) => void = () => {};

  push(chunk: Buffer): void {
    const all = this.carry.length === 0 ? chunk : Buffer.concat([this.carry, chunk]);
    const nl = all.lastIndexOf(10);
    const cut = nl >= 0 ? nl + 1 : all.length > MAX_CARRY_BYTES ? all.length : 0;
    if (cut > 0) this.enqueue(all.subarray(0, cut));
    this.carry = Buffer.from(all.subarray(cut));
    this.pump();
  }

  private enqueue(data: Buffer): void {
    this.queue.push(data);
    this.queued += data.length;
    if (this.queued > HIGH_WATER_BYTES) this.onBacklog(true);
  }

  /** The next write: whole lines up to BATCH_BYTES (a longer line alone). */
  private take(): Buffer {
    const first = this.queue.shift()!;
    if (first.length > BATCH_BYTES) {
      const nl = first.lastIndexOf(10, BATCH_BYTES - 1);
      if (nl < 0) return first;
      this.queue.unshift(first.subarray(nl + 1));
      return first.subarray(0, nl + 1);
    }
    return first;
  }

  private pump(): void {
    if (this.busy || this.queue.length === 0) return;
    const buf = this.take();
    this.busy = true;
    write(1, buf, 0, buf.length, null, (err, n) => {
      this.busy = false;
      const done = err ? ((err as NodeJS.ErrnoException).code === 'EAGAIN' ? 0 : buf.length) : n; // nowhere to write: dropped
      if (done < buf.length) this.queue.unshift(buf.subarray(done));
      this.queued -= done;
      if (this.queued <= HIGH_WATER_BYTES) this.onBacklog(false);
      if (err && done === 0) setTimeout(() => this.pump(), PIPE_RETRY_MS).unref();
      else this.pump();
    });
  }

  /** At the end: resolves once what is queued (and a last partial line) is written, or after `ms`. */
  async drained(ms: number): Promise<void> {
    if (this.carry.length > 0) this.enqueue(Buffer.concat([this.carry, Buffer.from('\n')]));
    this.carry = Buffer.alloc(0);
    this.pump();
    const until = Date.now() + ms;
    while ((this.busy || this.queue.length > 0) && Date.now() < until) await new Promise((r) => setTimeout(r, PIPE_RETRY_MS));
  }
}
