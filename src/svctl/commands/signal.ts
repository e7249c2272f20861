// signal SIG NAME...: the supervisor sends the signal to the service's
// process group; svctl only writes the letter runit assigns to it. The
// supervisor holds the settings it started with, so an invalid folder is
// only a warning here.
import { type ControlLetter, letterForSignal, RELAYED_SIGNALS, sendControl } from '../../supervise/control.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../../defaults.js';
import { SvError } from '../../errors.js';
import { servicePaths } from '../../supervise/paths.js';
import { normalizeSignal } from '../../signals.js';
import { type Ctx, loadScan, namedEntries } from '../context.js';

export const cmdSignal = (ctx: Ctx, sig: string, names: readonly string[]): number => {
  const name = normalizeSignal(sig);
  const letter = name ? letterForSignal(name) : null;
  if (!letter) {
    const known = RELAYED_SIGNALS.map((s) => s.slice(3)).join(' ');
    throw new SvError('svkit.usage', EXIT_USAGE, `signal: cannot send "${sig}" (supervisors relay ${known})`);
  }
  const scan = loadScan(ctx, false);
  const entries = namedEntries(scan, names);
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
        : `${e.name}: cannot write to its supervisor's control FIFO (${fifo}): permission denied; signalling needs write access to it (the supervisor's user)`,
    );
    code = EXIT_FAILED;
  }
  return code;
};

/** sendControl, with a permission error as `denied` (any other error is thrown). */
const send = (fifo: string, letter: ControlLetter): 'sent' | 'not-supervised' | 'denied' => {
  try {
    return sendControl(fifo, letter);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') return 'denied';
    throw err;
  }
};
