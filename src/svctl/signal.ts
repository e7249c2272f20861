// signal SIG NAME...: the supervisor sends the signal to the service's
// process group; svctl only writes the letter runit assigns to it. The
// supervisor holds the settings it started with, so an invalid folder is
// only a warning here.
import { type ControlLetter, letterForSignal, RELAYED_SIGNALS, sendControl } from '../control.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../defaults.js';
import { servicePaths } from '../paths.js';
import { normalizeSignal } from '../signals.js';
import { type Ctx, loadScan, namedEntries } from './context.js';

export const cmdSignal = (ctx: Ctx, sig: string, names: readonly string[]): number => {
  const name = normalizeSignal(sig);
  const letter = name ? letterForSignal(name) : null;
  if (!letter) {
    const known = RELAYED_SIGNALS.map((s) => s.slice(3)).join(' ');
    ctx.err(`signal: cannot send "${sig}" (supervisors relay ${known})`);
    return EXIT_USAGE;
  }
  const scan = loadScan(ctx, false);
  if (typeof scan === 'number') return scan;
  const entries = namedEntries(ctx, scan, names);
  if (typeof entries === 'number') return entries;
  for (const e of entries) {
    const problems = scan.problems.get(e.name);
    if (problems) ctx.err(`warning: ${problems.join('; ')} (the signal goes to ${e.name}'s supervisor, which holds the settings it started with)`);
  }
  let code = EXIT_OK;
  for (const e of entries) {
    const fifo = servicePaths(e.dir, e.name).control;
    const sent = send(fifo, letter);
    if (sent === 'sent') continue;
    ctx.err(
      sent === 'not-supervised'
        ? `${e.name}: not supervised`
        : `${e.name}: cannot write to its supervisor's control FIFO (${fifo}): ${sent}; signalling needs write access to it (the supervisor's user)`,
    );
    code = EXIT_FAILED;
  }
  return code;
};

/** sendControl, with a permission error as the reason (any other error is thrown). */
const send = (fifo: string, letter: ControlLetter): 'sent' | 'not-supervised' | string => {
  try {
    return sendControl(fifo, letter);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
    throw err;
  }
};
