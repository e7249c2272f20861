// A service whose folder is removed is stopped, as runsvdir stops the runsv
// of a folder gone from its scan directory: its supervision ends, and in a
// hosted svrun only that one (svctl boot could signal a lone svrun; it cannot
// signal one service of a host). The folder's parent is watched, for the
// folder's own name: the folder itself says nothing when it goes while the
// service runs in it (its cwd keeps the inode, so no IN_DELETE_SELF comes
// until the service exits). Events about other names cost a comparison; an
// idle scan directory wakes nobody.
import { type FSWatcher, lstatSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';

const gone = (dir: string): boolean => {
  try {
    return !lstatSync(dir).isDirectory();
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
};

/** Calls `onGone` once `dir` no longer exists (removed, or moved away); returns what stops watching. */
export const watchFolderGone = (dir: string, onGone: () => void): (() => void) => {
  const name = basename(dir);
  let watcher: FSWatcher | null = null;
  const stop = () => {
    watcher?.close();
    watcher = null;
  };
  const look = () => {
    if (!watcher || !gone(dir)) return;
    stop();
    onGone();
  };
  try {
    watcher = watch(dirname(dir), { persistent: false }, (_event, file) => {
      if (file === null || file === name) look();
    });
    watcher.on('error', look);
  } catch {
    return stop; // no inotify: the folder is not watched
  }
  return stop;
};
