// Writing in folders that someone less trusted than svrun may write too
// (supervise/ and log/ live in the service folder): nothing is ever written
// through a symlink planted there, appended to a FIFO or a device, or created
// wherever a planted folder symlink points. The one home of these rules.
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  realpathSync,
  renameSync,
  type Stats,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

const { O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW, O_NONBLOCK, O_NOCTTY } = constants;

const code = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** What a file is, for a one-line error: `not a regular file (a FIFO)`. The one wording, for reads and writes alike. */
export const fileKind = (st: Stats): string =>
  st.isSymbolicLink()
    ? 'a symlink'
    : st.isDirectory()
      ? 'a directory'
      : st.isFIFO()
        ? 'a FIFO'
        : st.isCharacterDevice()
          ? 'a character device'
          : st.isBlockDevice()
            ? 'a block device'
            : st.isSocket()
              ? 'a socket'
              : st.isFile()
                ? 'a regular file'
                : 'not a regular file';

/** Thrown when a path svrun writes holds something else than a regular file (a planted symlink, FIFO...). */
export class NotRegularFile extends Error {
  constructor(
    readonly path: string,
    readonly kind: string,
  ) {
    super(`${path}: ${kind}, not a regular file: not written`);
  }
}

const writeAll = (fd: number, data: Buffer): void => {
  for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
};

/** A file moved out of the way: its name, what it was (fileKind), its new name beside it. */
export interface Aside {
  name: string;
  kind: string;
  aside: string;
}
export type OnAside = (moved: Aside) => void;

/** The line for the log: `supervise/pid was a directory, not a regular file: moved aside to pid.<time>.not-a-file`. */
export const asideText = (folder: string, m: Aside, not = 'a regular file'): string =>
  `${folder}/${m.name} was ${m.kind}, not ${not}: moved aside to ${m.aside}`;

/**
 * Moves whatever is at `path` aside, beside it, as `NAME.<ISO time>.SUFFIX`
 * (rename: nothing is followed, nothing deleted), the way log/current is
 * when it is not a file; tells `onAside` what it was. False when nothing was there.
 */
export const moveAside = (path: string, suffix: string, onAside?: OnAside): boolean => {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch {
    return false;
  }
  const aside = `${basename(path)}.${new Date().toISOString()}.${suffix}`;
  renameSync(path, join(dirname(path), aside));
  onAside?.({ name: basename(path), kind: fileKind(st), aside });
  return true;
};

/** A rename onto a folder fails so: a folder planted where a file goes. */
const FOLDER_IN_THE_WAY = new Set(['EISDIR', 'ENOTEMPTY', 'EEXIST', 'ENOTDIR']);

/**
 * Replaces `file` atomically (temporary file `FILE.PID.tmp` + rename), so a
 * reader never sees half of it. The temporary file is created anew
 * (O_EXCL|O_NOFOLLOW, anything stale there unlinked first, or moved aside
 * if it is a folder: unlink does not follow), and rename replaces a symlink,
 * FIFO or file at `file` rather than following or opening it; a folder
 * there is moved aside (`onAside` told) and the rename done again. On
 * failure (a full disk) the temporary file is removed and the error thrown.
 * Returns the new file's fstat, taken before the rename (nobody else can
 * have written it yet): what it looks like as svrun left it.
 */
export const replaceFile = (file: string, data: string, mode: number, onAside?: OnAside): Stats => {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    unlinkSync(tmp);
  } catch (err) {
    if (code(err) === 'EISDIR' || code(err) === 'EPERM') moveAside(tmp, 'not-a-file', onAside);
    else if (code(err) !== 'ENOENT') throw err;
  }
  const fd = openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  try {
    fchmodSync(fd, mode); // exactly `mode`, whatever the umask
    writeAll(fd, Buffer.from(data));
    const written = fstatSync(fd);
    closeSync(fd);
    try {
      renameSync(tmp, file);
    } catch (err) {
      if (!FOLDER_IN_THE_WAY.has(code(err) ?? '') || !lstatSync(file).isDirectory()) throw err;
      moveAside(file, 'not-a-file', onAside);
      renameSync(tmp, file);
    }
    return written;
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      /* closed already */
    }
    try {
      unlinkSync(tmp);
    } catch {
      /* gone */
    }
    throw err;
  }
};

/**
 * Opens `file` for appending, created with `mode` when missing. Only a
 * regular file is accepted: a symlink is not followed (O_NOFOLLOW), and a
 * FIFO or device is neither waited on (O_NONBLOCK) nor written (fstat); those
 * throw NotRegularFile. An existing file's mode is set to `mode` (fchmod).
 */
export const openAppend = (file: string, mode: number): { fd: number; size: number } => {
  let fd: number;
  try {
    fd = openSync(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, mode);
  } catch (err) {
    // ELOOP: a final symlink; ENXIO: a FIFO nobody reads; EISDIR: a folder
    const c = code(err);
    if (c === 'ELOOP' || c === 'ENXIO' || c === 'EISDIR' || c === 'ENODEV' || c === 'EOPNOTSUPP') {
      let kind = 'not a regular file';
      try {
        kind = fileKind(lstatSync(file));
      } catch {
        /* gone meanwhile */
      }
      throw new NotRegularFile(file, kind);
    }
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new NotRegularFile(file, fileKind(st));
    if ((st.mode & 0o7777) !== mode) fchmodSync(fd, mode);
    return { fd, size: st.size };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
};

/**
 * Makes sure `dir` (supervise/ or log/) is a folder svrun may create files
 * in, and returns the path to write through. A real folder is used as is
 * (created when missing). A symlink is accepted only when the link and its
 * target folder are both owned by svrun's user and the folder is writable by
 * that user alone: a link planted by anyone else (a link's owner is whoever
 * made it) or pointing into a shared folder is refused. A dangling accepted
 * link gets its target folder created (runit's `supervise -> /run/...`
 * after a reboot). An accepted link is resolved once, here: later swaps of
 * the link do not redirect svrun's writes. A refusal's message does not name
 * `dir` (the caller does, as `web/supervise: ...`).
 */
export const ensureStateDir = (dir: string): string => {
  let link: Stats;
  try {
    link = lstatSync(dir);
  } catch (err) {
    if (code(err) !== 'ENOENT') throw err;
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    link = lstatSync(dir);
  }
  if (link.isDirectory()) return dir;
  if (!link.isSymbolicLink()) throw new Error(`${fileKind(link)}, not a directory`);
  const uid = process.geteuid?.() ?? 0;
  const target = resolve(dirname(dir), readlinkSync(dir));
  const refuse = (why: string) =>
    new Error(
      `symlink to ${target} refused: ${why} (a symlinked folder must be owned, link and target, by uid ${uid} and writable by it alone; or set SVKIT_STATE_DIR)`,
    );
  if (link.uid !== uid) throw refuse(`the link is owned by uid ${link.uid}`);
  let st: Stats;
  try {
    st = statSync(dir);
  } catch (err) {
    if (code(err) !== 'ENOENT') throw err;
    mkdirSync(target, { recursive: true, mode: 0o755 });
    st = statSync(dir);
  }
  if (!st.isDirectory()) throw refuse(`the target is ${fileKind(st)}`);
  if (st.uid !== uid) throw refuse(`the target is owned by uid ${st.uid}`);
  if ((st.mode & 0o022) !== 0) {
    const who = [st.mode & 0o020 ? 'its group' : '', st.mode & 0o002 ? 'others' : ''].filter(Boolean).join(' and ');
    throw refuse(`the target is writable by ${who}`);
  }
  return realpathSync(dir);
};
