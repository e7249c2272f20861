// signal SIG NAME...: the supervisor sends the signal to the service's
// process group; svctl only writes the letter runit assigns to it. The
// supervisor holds the settings it started with, so an invalid folder is
// only a warning here.
import { type ControlLetter, letterForSignal, RELAYED_SIGNALS } from '../../supervise/control.js';
import { notAFifo } from '../../os/fifo.js';
import { type AskResult, ask, settled, stoppedText } from '../engine/letters.js';
import { type Observed, observe } from '../engine/observe.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../../defaults.js';
import { SvError } from '../../errors.js';
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
    if (problems)
      ctx.err(`warning: ${problems.join('; ')} (the signal goes to ${e.name}'s supervisor, which holds the settings it started with)`);
  }
  let code = EXIT_OK;
  for (const e of entries) {
    const o = observe(e.name, e.dir);
    const fifo = o.paths.control;
    const sent = send(o, letter);
    // a relayed signal is not waited for: once written it is the supervisor's
    if (sent === 'sent') {
      settled(fifo);
      continue;
    }
    const planted = sent === 'not-a-fifo' ? notAFifo(fifo) : null;
    ctx.err(
      typeof sent === 'object'
        ? stoppedText(e.name, sent.stopped, 'nothing sent')
        : sent === 'denied'
          ? `${e.name}: cannot write to its supervisor's control FIFO (${fifo}): permission denied; signalling needs write access to it (the supervisor's user)`
          : planted && o.supervised
            ? `${e.name}: ${fifo} is ${planted}, not its supervisor's FIFO: nothing sent; the supervisor makes a new one when it notices, try again`
            : `${e.name}: not supervised`,
    );
    code = EXIT_FAILED;
  }
  return code;
};

/** The letter through letters.ts's ask (never to a stopped supervisor), with a permission error as `denied` (any other error is thrown). */
const send = (o: Observed, letter: ControlLetter): AskResult | 'denied' => {
  try {
    return ask(o, letter);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') return 'denied';
    throw err;
  }
};
