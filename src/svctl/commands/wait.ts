// wait STATE NAME...: blocks until each service has been seen in STATE
// (as `status` shows it: no supervisor counts as down), watching the status
// files; exit 1 for those that did not get there in time.
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../../defaults.js';
import { SvError } from '../../errors.js';
import { DEFAULT_TIMEOUT_READY_MS } from '../../defaults.js';
import { servicePaths } from '../../supervise/paths.js';
import type { ServiceDef } from '../../servicedir.js';
import { type Ctx, globalDeadline, loadScan, namedEntries } from '../context.js';
import { entryStatus } from '../engine/observe.js';
import { stopTimeoutMs } from '../engine/stopplan.js';
import { ChangeWaiter } from '../engine/changewait.js';

export const WAIT_STATES = ['up', 'down', 'failed'] as const;
export type WaitState = (typeof WAIT_STATES)[number];

const defaultTimeout = (def: ServiceDef | undefined, state: WaitState): number => {
  if (state === 'down') return stopTimeoutMs(def);
  return def?.timeoutReadyMs ?? DEFAULT_TIMEOUT_READY_MS;
};

export const cmdWait = async (ctx: Ctx, state: string, names: readonly string[]): Promise<number> => {
  if (!(WAIT_STATES as readonly string[]).includes(state)) {
    throw new SvError('svkit.usage', EXIT_USAGE, `wait: expected up, down or failed, got "${state}"`);
  }
  const want = state as WaitState;
  const scan = loadScan(ctx, false);
  const entries = namedEntries(scan, names);
  const pending = new Map(
    entries.map((e) => [e, globalDeadline(ctx) ?? ctx.startedAt + defaultTimeout(scan.services.get(e.name), want)] as const),
  );
  const changes = new ChangeWaiter(entries.map((e) => servicePaths(e.dir, e.name).supervise));
  let code = EXIT_OK;
  try {
    while (pending.size > 0) {
      for (const [e, until] of pending) {
        const s = entryStatus(e, scan);
        if (s.state === want) pending.delete(e);
        else if (Date.now() >= until) {
          ctx.err(`${e.name}: not ${want} after ${until - ctx.startedAt} ms (state ${s.state})`);
          pending.delete(e);
          code = EXIT_FAILED;
        }
      }
      if (pending.size > 0) await changes.next(Math.min(...pending.values()));
    }
  } finally {
    changes.close();
  }
  return code;
};
