// The one home for reading a file svkit does not own (a setting, env/,
// status.json, a log): everything in a service folder is untrusted input
// (docs/services.md). A read never blocks and never grows
// without bound: the file is opened non-blocking (a FIFO opens at once, with
// no writer, instead of waiting for one), only a regular file is accepted
// (a symlink to one is fine: instances are made of them), and at most
// `maxBytes` are read; anything else is `invalid` with a reason that fits
// in one error line.
import { closeSync, constants, fstatSync, openSync, readSync, type Stats, statSync } from 'node:fs';
import { fileKind } from './os/safefile.js';

/** docs/services.md: a settings file is at most 64 KiB; a larger one is an invalid setting. */
export const SETTINGS_MAX_BYTES = 64 * 1024;

export type FileRead = { kind: 'missing' } | { kind: 'ok'; text: string } | { kind: 'invalid'; reason: string };
export type FileOpen = { kind: 'missing' } | { kind: 'ok'; fd: number; stats: Stats } | { kind: 'invalid'; reason: string };

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

const errnoReason = (err: unknown): string => {
  const e = err as NodeJS.ErrnoException;
  return e.code === 'ELOOP' ? 'too many levels of symbolic links' : `not readable (${e.code ?? e.message})`;
};

/**
 * Opens `path` for reading if it is a regular file (following symlinks).
 * The type is checked before the open (a device is never opened, so no
 * driver sees it) and again on the opened descriptor (the name may have been
 * swapped in between). The caller closes `fd`.
 */
export const openRegular = (path: string): FileOpen => {
  try {
    // most settings files are missing: told without an exception (Node builds
    // an Error with a stack for each, the larger part of reading a service folder)
    const before = statSync(path, { throwIfNoEntry: false });
    if (before === undefined) return { kind: 'missing' };
    if (!before.isFile()) return { kind: 'invalid', reason: `not a regular file (${fileKind(before)})` };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? { kind: 'missing' } : { kind: 'invalid', reason: errnoReason(err) };
  }
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? { kind: 'missing' } : { kind: 'invalid', reason: errnoReason(err) };
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) {
      closeSync(fd);
      return { kind: 'invalid', reason: `not a regular file (${fileKind(stats)})` };
    }
    return { kind: 'ok', fd, stats };
  } catch (err) {
    closeSync(fd);
    return { kind: 'invalid', reason: errnoReason(err) };
  }
};

/**
 * The bytes of the regular file `path`, at most `maxBytes` of them: a
 * larger file is `invalid` (`larger than 65536 bytes`), also one that grows
 * past the bound while it is read or whose size the kernel does not tell.
 */
export const readBoundedBytes = (path: string, maxBytes: number): { kind: 'ok'; bytes: Buffer } | Exclude<FileRead, { kind: 'ok' }> => {
  const opened = openRegular(path);
  if (opened.kind !== 'ok') return opened;
  const tooLarge = { kind: 'invalid', reason: `larger than ${maxBytes} bytes` } as const;
  try {
    if (opened.stats.size > maxBytes) return tooLarge;
    // sized by fstat (status.json is read often), grown when the file grows
    // meanwhile; one byte more than allowed tells a file at the bound from one past it
    let buf = Buffer.allocUnsafe(Math.min(maxBytes, opened.stats.size) + 1);
    let got = 0;
    for (;;) {
      if (got === buf.length) {
        if (got > maxBytes) return tooLarge;
        const bigger = Buffer.allocUnsafe(Math.min(maxBytes + 1, buf.length * 2));
        buf.copy(bigger, 0, 0, got);
        buf = bigger;
      }
      const n = readSync(opened.fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
    }
    if (got > maxBytes) return tooLarge;
    return { kind: 'ok', bytes: buf.subarray(0, got) };
  } catch (err) {
    return { kind: 'invalid', reason: errnoReason(err) };
  } finally {
    closeSync(opened.fd);
  }
};

/** A settings file (or any small untrusted file) as UTF-8 text: `missing`, `ok`, or `invalid` with the reason. */
export const readSettingsFile = (path: string, maxBytes = SETTINGS_MAX_BYTES): FileRead => {
  const r = readBoundedBytes(path, maxBytes);
  return r.kind === 'ok' ? { kind: 'ok', text: r.bytes.toString('utf8') } : r;
};
