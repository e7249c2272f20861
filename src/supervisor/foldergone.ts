// A service whose folder is removed is stopped, as runsvdir stops the runsv
// of a folder gone from its scan directory: its supervision ends, and in a
// hosted svrun only that one (svctl boot could signal a lone svrun; it cannot
// signal one service of a host). One inotify watch on the folder itself:
// its own entries changing wake it, never the files below (supervise/, log/),
// so an idle supervisor stays idle.
import { type FSWatcher, lstatSync, watch } from 'node:fs';

const gone = (dir: string): boolean => {
  try {
    return !lstatSync(dir).isDirectory();
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
};

/** Calls `onGone` once `dir` no longer exists (removed or moved away); returns what stops watching. */
export const watchFolderGone = (dir: string, onGone: () => void): (() => void) => {
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
    watcher = watch(dir, { persistent: false }, look);
    // the watch ends with the folder (IN_IGNORED): look once more
    watcher.on('error', look);
  } catch {
    return stop; // no inotify: the folder is not watched (as before hosting)
  }
  return stop;
};
