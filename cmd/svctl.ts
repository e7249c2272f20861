#!/usr/bin/env node
// svctl: bring the services of a scan directory up and down (see docs/svctl.md).
// One static import only: at a low descriptor limit, modules loaded side by
// side fail with EMFILE before any check could run. (The build bundles this
// file with all it imports into one, scripts/bundle.mjs; the order holds there too.)
import { descriptorShortage, keepDescriptorsToOurselves, tooFewDescriptors } from '../src/os/fds.js';

/** Only the entry points end the process (see src/errors.ts): one line, then the exit code. */
const die = ({ line, exitCode }: { line: string; exitCode: number }): never => {
  process.stderr.write(`${line}\n`);
  return process.exit(exitCode);
};

// neither svrun nor a service (nor boot's command) inherits what our caller had open (see src/os/fds.ts)
keepDescriptorsToOurselves();
// too few descriptors to do anything: one line, exit 1
const short = descriptorShortage('svctl');
if (short) die(short);

// loaded only now; descriptors the caller left open count against the limit too
const load = (err: NodeJS.ErrnoException) => (err.code === 'EMFILE' ? die(tooFewDescriptors('svctl', true)) : Promise.reject(err));
const argv = process.argv.slice(2);
// status and check are read without commander: the rest, commander and every
// other command, is ./svctl-cli.js, loaded only when needed (src/svctl/fastpath.ts)
const { quickCommand } = await import('../src/svctl/fastpath.js').catch(load);
const quick = quickCommand(argv);
const { run, failure } = quick
  ? { run: quick, failure: (await import('../src/errors.js')).failure }
  : await import('./svctl-cli.js').catch(load).then((cli) => ({ run: () => cli.svctl(argv), failure: cli.failure }));

// svctl() prints what it expected to fail (an SvError) itself; anything else is one line, exit 1.
// It exits at once, not when the event loop drains: a stop signal ends a command mid-way (exit 128+N).
run().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const { lines, exitCode } = failure('svctl', err, 1);
    for (const l of lines) process.stderr.write(`${l}\n`);
    process.exit(exitCode);
  },
);
