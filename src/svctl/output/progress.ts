// What `up`, `down`, `restart`, `once`, `remove`, `reload` and `scale` are doing, as typed
// events, and how they read: one line per service for a terminal (redrawn
// in place by src/svctl/output/progresswriter.ts), one plain line per event that
// matters for a pipe or a file, a summary, and the line Ctrl-C leaves. Pure:
// the model is the last event of each service, every text is a function of
// it and the clock, so all of it is table-tested without a terminal.

/** Which way a command moves a service: the words an interrupted command leaves depend on it. */
export type Toward = 'up' | 'down';

export type ProgressEvent =
  /** Scheduled, but waits until `on` (what it requires, or what requires it) are done. */
  | { kind: 'waiting'; name: string; toward: Toward; on: string[]; at: number }
  /** Its supervisor was started or asked to start it; not ready yet. */
  | { kind: 'starting'; name: string; at: number }
  /** Its supervisor waits out a restart backoff: `restarts` so far, the last exit, the next start. */
  | { kind: 'backoff'; name: string; restarts: number; lastExit: string | null; nextStartAt: number; at: number }
  /** Ready, `ms` after svctl began on it. */
  | { kind: 'ready'; name: string; ms: number; at: number }
  /** Was ready, but by the time the command reports it has exited (`exit`: `exited 3`) and is `now` (`is restarting (backoff)`). */
  | { kind: 'exited'; name: string; exit: string; now: string; at: number }
  /** Asked to stop. */
  | { kind: 'stopping'; name: string; at: number }
  /** Down (its supervisor gone), `ms` after svctl began on it. */
  | { kind: 'down'; name: string; ms: number; at: number }
  /** Already where the command would bring it: nothing done. */
  | { kind: 'unchanged'; name: string; state: Toward; at: number }
  /** Did not get there; `reason` is svctl's error line without the service's name. */
  | { kind: 'failed'; name: string; reason: string; at: number }
  /** Not acted on because what it waited for did not get there (`reason`: "db failed"). */
  | { kind: 'blocked'; name: string; toward: Toward; reason: string; at: number }
  /** Its supervisor was asked to read its folder again (reload). */
  | { kind: 'reloading'; name: string; at: number }
  /** Restarted by its supervisor after a reload, for the settings `changed`; not ready yet. */
  | { kind: 'restarting'; name: string; changed: string[]; at: number }
  /**
   * Reloaded, `ms` after svctl began on it: the settings that hold now
   * without a restart (`live`), those whose change restarted it (`restart`;
   * `restarted` false: it was not running, they hold from its next start),
   * and those that wait for a new supervisor.
   */
  | {
      kind: 'reloaded';
      name: string;
      live: string[];
      restart: string[];
      restarted: boolean;
      newSupervisor: string[];
      ms: number;
      at: number;
    }
  /** Stopped and its folder deleted (scale, remove), `ms` after svctl began on it. */
  | { kind: 'removed'; name: string; ms: number; at: number };

/** Where events go: the command's writer, or nowhere. */
export type ProgressSink = (event: ProgressEvent) => void;

export const noProgress: ProgressSink = () => {};

/**
 * A sink that shows only the services a command acts on, among those
 * `quiet` names (what `restart web` brings up only because web requires
 * it): each one's `waiting` is held until an event says it is acted on,
 * and `up already` drops it.
 */
export const onlyTouched = (sink: ProgressSink, quiet: (name: string) => boolean): ProgressSink => {
  const held = new Map<string, ProgressEvent>();
  return (e) => {
    if (!quiet(e.name)) return sink(e);
    const waiting = held.get(e.name);
    held.delete(e.name);
    if (e.kind === 'waiting') held.set(e.name, e);
    else if (e.kind !== 'unchanged') {
      if (waiting) sink(waiting);
      sink(e);
    }
  };
};

/** An error line without its leading `NAME: `, for the service's own line, which names it already. */
export const withoutName = (name: string, line: string): string => (line.startsWith(`${name}: `) ? line.slice(name.length + 2) : line);

/** Every service's last event, in the order the services first appeared. */
export type ProgressModel = ReadonlyMap<string, ProgressEvent>;

/** The model after `event`: the service's line is its last event. */
export const applyEvent = (model: ProgressModel, event: ProgressEvent): Map<string, ProgressEvent> => {
  const next = new Map(model);
  next.set(event.name, event);
  return next;
};

/** 40 ms, 980 ms, 1.2 s, 12.0 s */
export const msText = (ms: number): string => {
  const n = Math.max(0, Math.round(ms));
  return n < 1000 ? `${n} ms` : `${(n / 1000).toFixed(1)} s`;
};

/** The phrase of a backoff, plain and on a terminal alike. */
export const backoffText = (e: Extract<ProgressEvent, { kind: 'backoff' }>, now: number): string =>
  `in backoff after ${e.restarts} restart${e.restarts === 1 ? '' : 's'}${e.lastExit ? ` (${e.lastExit})` : ''}, next start in ${msText(e.nextStartAt - now)}`;

/** What a reload did, in a phrase: `timeout-kill applied; restarted for run, ready in 120 ms`. */
export const reloadedText = (e: Extract<ProgressEvent, { kind: 'reloaded' }>): string => {
  const parts: string[] = [];
  if (e.live.length > 0) parts.push(`${e.live.join(', ')} applied`);
  if (e.restart.length > 0) {
    parts.push(
      e.restarted
        ? `restarted for ${e.restart.join(', ')}, ready in ${msText(e.ms)}`
        : `${e.restart.join(', ')} from its next start (not running)`,
    );
  }
  if (e.newSupervisor.length > 0) parts.push(`${e.newSupervisor.join(', ')} not applied: needs a new supervisor (svctl restart)`);
  return parts.length > 0 ? `reloaded: ${parts.join('; ')}` : 'reloaded: nothing changed';
};

/** How a line reads on a terminal, for the colours: going, done, bad, or nothing to say. */
export type Tone = 'busy' | 'good' | 'bad' | 'plain';

/** The text after a service's name on its terminal line, and its tone; `now` runs the clocks of what is under way. */
export const phaseText = (e: ProgressEvent, now: number): { text: string; tone: Tone } => {
  switch (e.kind) {
    case 'waiting':
      return { text: e.on.length > 0 ? `waiting for ${e.on.join(', ')}` : 'waiting', tone: 'plain' };
    case 'starting':
      return { text: `starting ${msText(now - e.at)}`, tone: 'busy' };
    case 'backoff':
      return { text: backoffText(e, now), tone: 'busy' };
    case 'ready':
      return { text: `ready in ${msText(e.ms)}`, tone: 'good' };
    case 'exited':
      return { text: `ready, but ${e.exit} and ${e.now}`, tone: 'bad' };
    case 'stopping':
      return { text: `stopping ${msText(now - e.at)}`, tone: 'busy' };
    case 'down':
      return { text: `down in ${msText(e.ms)}`, tone: 'good' };
    case 'unchanged':
      return { text: e.state === 'up' ? 'up already' : 'down already', tone: 'plain' };
    case 'failed':
      // svctl's lines that begin `failed` (`failed (exited 3); last output: ...`) say it already
      return { text: /^failed\b/.test(e.reason) ? e.reason : `failed: ${e.reason}`, tone: 'bad' };
    case 'blocked':
      return { text: `not ${e.toward === 'up' ? 'started' : 'stopped'}: ${e.reason}`, tone: 'bad' };
    case 'reloading':
      return { text: `reloading ${msText(now - e.at)}`, tone: 'busy' };
    case 'restarting':
      return { text: `restarting for ${e.changed.join(', ')} ${msText(now - e.at)}`, tone: 'busy' };
    case 'reloaded':
      return { text: reloadedText(e), tone: e.newSupervisor.length > 0 ? 'plain' : 'good' };
    case 'removed':
      return { text: `removed in ${msText(e.ms)}`, tone: 'good' };
  }
};

/** Still under way: what an interruption leaves behind. */
const UNDER_WAY = new Set<ProgressEvent['kind']>(['waiting', 'starting', 'backoff', 'stopping', 'reloading', 'restarting']);

/** Paints a phrase in a tone (identity without colours). */
export type Paint = (tone: Tone, text: string) => string;
export const noPaint: Paint = (_tone, text) => text;

/**
 * Cuts `text` to `width` characters (terminal columns for the plain ASCII
 * and names svctl prints), ending with `…`: a line that wrapped would break
 * the redraw, which moves up one row per line.
 */
export const fitWidth = (text: string, width: number): string => {
  const chars = [...text];
  if (width <= 0 || chars.length <= width) return text;
  return `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
};

/** The terminal's frame: one line per service, `name  phrase`, names padded; each line at most `width` columns (before paint). */
export const frameLines = (model: ProgressModel, now: number, width: number, paint: Paint = noPaint): string[] => {
  const pad = Math.max(0, ...[...model.keys()].map((n) => n.length));
  return [...model.values()].map((e) => {
    const { text, tone } = phaseText(e, now);
    const head = `${e.name.padEnd(pad)}  `;
    const cut = fitWidth(`${head}${text}`, width);
    return `${head}${paint(tone, cut.slice(head.length))}`;
  });
};

/**
 * The line a pipe or a file gets for `event`, or null: a service ready, a
 * service down, a backoff (once for each next start). Failures are not
 * here: they are svctl's error lines on stderr, printed when the command
 * ends, as they always were. `previous` is the service's event before.
 */
export const plainLine = (event: ProgressEvent, previous: ProgressEvent | undefined): string | null => {
  switch (event.kind) {
    case 'ready':
    case 'exited':
    case 'down':
    case 'reloaded':
    case 'removed':
      return `${event.name}: ${phaseText(event, event.at).text}`;
    case 'backoff':
      if (previous?.kind === 'backoff' && previous.nextStartAt === event.nextStartAt) return null;
      return `${event.name}: ${backoffText(event, event.at)}`;
    default:
      return null;
  }
};

/** `3 up, 1 failed, 2 not started in 2.1 s`: counts of where the services ended, and the time the command took. */
export const summaryLine = (model: ProgressModel, elapsedMs: number): string => {
  const counts = new Map<string, number>();
  const add = (what: string) => counts.set(what, (counts.get(what) ?? 0) + 1);
  for (const e of model.values()) {
    if (e.kind === 'ready' || (e.kind === 'unchanged' && e.state === 'up')) add('up');
    else if (e.kind === 'exited') add('exited since');
    else if (e.kind === 'down' || (e.kind === 'unchanged' && e.state === 'down')) add('down');
    else if (e.kind === 'failed') add('failed');
    else if (e.kind === 'blocked') add(e.toward === 'up' ? 'not started' : 'not stopped');
    else if (e.kind === 'reloaded' || e.kind === 'removed') add(e.kind);
    else add('unfinished');
  }
  const order = ['up', 'exited since', 'down', 'reloaded', 'removed', 'failed', 'not started', 'not stopped', 'unfinished'];
  const parts = order.filter((w) => counts.has(w)).map((w) => `${counts.get(w)} ${w}`);
  return `${parts.length > 0 ? parts.join(', ') : 'nothing to do'} in ${msText(elapsedMs)}`;
};

/** A service under way, as the interruption names it: `web starting`, `api waiting`. */
const leftText = (e: ProgressEvent): string => {
  switch (e.kind) {
    case 'backoff':
      return `${e.name} in backoff`;
    default:
      return `${e.name} ${e.kind}`;
  }
};

/**
 * What svctl says when a stop signal ends `up` or `down` half-way: the
 * services still under way and in which state, and what to do about them.
 * Supervisors already started keep running (nothing ties them to svctl).
 */
export const interruptedLine = (model: ProgressModel): string => {
  const left = [...model.values()].filter((e) => UNDER_WAY.has(e.kind));
  if (left.length === 0) return 'interrupted';
  const goingUp = left.some(
    (e) => e.kind === 'starting' || e.kind === 'backoff' || e.kind === 'restarting' || (e.kind === 'waiting' && e.toward === 'up'),
  );
  const advice = goingUp ? 'left running; svctl down to stop' : 'left as they are; svctl down to finish';
  return `interrupted: ${left.map(leftText).join(', ')} (${advice})`;
};
