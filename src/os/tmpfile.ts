// A scratch file with no name: what svctl reads a new svrun's stderr from.
// O_TMPFILE makes it nameless from the start, so nothing is left on disk
// whatever happens to svctl (a SIGKILL, EMFILE half-way). Where the file
// system does not offer O_TMPFILE, a file of a random name in the temporary
// folder is unlinked as soon as it is open.
import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Linux's O_TMPFILE (__O_TMPFILE | O_DIRECTORY); Node does not name it. */
const O_TMPFILE = 0o20000000 | constants.O_DIRECTORY;

/** A descriptor open for reading and writing on a file no name leads to (mode 0600); throws like open(2). */
export const anonymousFile = (dir = tmpdir()): number => {
  try {
    return openSync(dir, O_TMPFILE | constants.O_RDWR, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EOPNOTSUPP' && code !== 'EISDIR' && code !== 'EINVAL') throw err;
  }
  const path = join(dir, `.svkit-${randomBytes(8).toString('hex')}`);
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    unlinkSync(path);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
};
