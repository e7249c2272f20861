// inotify's failures as a person can act on them. Every watch in svkit has
// a poll behind it (docs/decisions.md, "Every watch has a poll behind it"): when the user's inotify
// instances or watches are used up, the program says so once, with this
// text, and goes on looking on a timer.

/** Why fs.watch (or chokidar) failed, naming the limit to raise where it is one. */
export const watchErrorText = (err: unknown): string => {
  const e = err as NodeJS.ErrnoException | null;
  if (e?.code === 'EMFILE') return 'no inotify instance left: fs.inotify.max_user_instances';
  if (e?.code === 'ENOSPC') return 'no inotify watch left: fs.inotify.max_user_watches';
  return e?.code ?? (e instanceof Error ? e.message : String(err));
};
