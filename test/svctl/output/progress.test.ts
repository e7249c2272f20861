// svctl's progress as pure functions (src/svctl/output/progress.ts), the thin
// writer on a recording sink with a fake clock (src/svctl/output/progresswriter.ts),
// the colour decision and the status table's READY and STATE columns: all
// without a terminal. The real runs, under a pseudo-terminal and without one,
// are in progress-cli.proc.test.ts.
import { describe, expect, it } from 'vitest';
import { colors, colorWanted, paintState } from '../../../src/svctl/output/colors.js';
import {
  applyEvent,
  fitWidth,
  frameLines,
  interruptedLine,
  msText,
  onlyTouched,
  phaseText,
  plainLine,
  type ProgressEvent,
  type ProgressModel,
  summaryLine,
  withoutName,
} from '../../../src/svctl/output/progress.js';
import { makeProgressWriter, progressMode } from '../../../src/svctl/output/progresswriter.js';
import { readiness, statusTable, type StatusRow } from '../../../src/svctl/commands/status.js';
import { blankStatus } from '../../../src/supervise/status.js';

const T = 1_000_000;
const model = (...events: ProgressEvent[]): ProgressModel => events.reduce<ProgressModel>((m, e) => applyEvent(m, e), new Map());
const reloaded = (over: Partial<Extract<ProgressEvent, { kind: 'reloaded' }>> = {}): ProgressEvent => ({
  kind: 'reloaded',
  name: 'db',
  live: [],
  restart: [],
  restarted: false,
  newSupervisor: [],
  ms: 30,
  at: T,
  ...over,
});
const backoff = (over: Partial<Extract<ProgressEvent, { kind: 'backoff' }>> = {}): ProgressEvent => ({
  kind: 'backoff',
  name: 'web',
  restarts: 5,
  lastExit: 'exited 1',
  nextStartAt: T + 4200,
  at: T,
  ...over,
});

describe('msText', () => {
  it.each([
    [0, '0 ms'],
    [40, '40 ms'],
    [999.4, '999 ms'],
    [1000, '1.0 s'],
    [2149, '2.1 s'],
    [12_000, '12.0 s'],
    [-5, '0 ms'],
  ])('%d ms reads %s', (ms, text) => expect(msText(ms)).toBe(text));
});

describe("phaseText: a service's terminal line after its name", () => {
  it.each<[ProgressEvent, number, string, string]>([
    [{ kind: 'waiting', name: 'web', toward: 'up', on: ['db', 'cache'], at: T }, T, 'waiting for db, cache', 'plain'],
    [{ kind: 'waiting', name: 'db', toward: 'up', on: [], at: T }, T, 'waiting', 'plain'],
    [{ kind: 'starting', name: 'db', at: T }, T + 1234, 'starting 1.2 s', 'busy'],
    [{ kind: 'ready', name: 'db', ms: 120, at: T }, T + 5000, 'ready in 120 ms', 'good'],
    [{ kind: 'stopping', name: 'db', at: T }, T + 40, 'stopping 40 ms', 'busy'],
    [{ kind: 'down', name: 'db', ms: 40, at: T }, T, 'down in 40 ms', 'good'],
    [{ kind: 'unchanged', name: 'db', state: 'up', at: T }, T, 'up already', 'plain'],
    [{ kind: 'unchanged', name: 'db', state: 'down', at: T }, T, 'down already', 'plain'],
    [
      { kind: 'failed', name: 'db', reason: 'failed (exited 3); last output: err no disk', at: T },
      T,
      'failed (exited 3); last output: err no disk',
      'bad',
    ],
    [
      { kind: 'failed', name: 'db', reason: 'not ready after 3000 ms (state starting)', at: T },
      T,
      'failed: not ready after 3000 ms (state starting)',
      'bad',
    ],
    [{ kind: 'blocked', name: 'web', toward: 'up', reason: 'db failed', at: T }, T, 'not started: db failed', 'bad'],
    [{ kind: 'blocked', name: 'db', toward: 'down', reason: 'web not down', at: T }, T, 'not stopped: web not down', 'bad'],
    [{ kind: 'exited', name: 'a', exit: 'exited 3', now: 'failed', at: T }, T, 'ready, but exited 3 and failed', 'bad'],
    [backoff(), T, 'in backoff after 5 restarts (exited 1), next start in 4.2 s', 'busy'],
    [backoff(), T + 4000, 'in backoff after 5 restarts (exited 1), next start in 200 ms', 'busy'],
    [backoff({ restarts: 1, lastExit: null }), T, 'in backoff after 1 restart, next start in 4.2 s', 'busy'],
    [{ kind: 'reloading', name: 'db', at: T }, T + 20, 'reloading 20 ms', 'busy'],
    [{ kind: 'restarting', name: 'db', changed: ['run', 'env'], at: T }, T + 1100, 'restarting for run, env 1.1 s', 'busy'],
    [reloaded(), T, 'reloaded: nothing changed', 'good'],
    [reloaded({ live: ['timeout-kill', 'memory-max'] }), T, 'reloaded: timeout-kill, memory-max applied', 'good'],
    [
      reloaded({ live: ['timeout-kill'], restart: ['run'], restarted: true, ms: 310 }),
      T,
      'reloaded: timeout-kill applied; restarted for run, ready in 310 ms',
      'good',
    ],
    [reloaded({ restart: ['env'] }), T, 'reloaded: env from its next start (not running)', 'good'],
    [reloaded({ newSupervisor: ['log/run'] }), T, 'reloaded: log/run not applied: needs a new supervisor (svctl restart)', 'plain'],
    [{ kind: 'removed', name: 'w@3', ms: 300, at: T }, T, 'removed in 300 ms', 'good'],
  ])('%j at +%d: %s', (e, now, text, tone) => expect(phaseText(e, now)).toEqual({ text, tone }));
});

describe('frameLines: one line per service, in the order they first appeared, names padded, cut to the width', () => {
  const m = model(
    { kind: 'waiting', name: 'db', toward: 'up', on: [], at: T },
    { kind: 'waiting', name: 'webserver', toward: 'up', on: ['db'], at: T },
    { kind: 'starting', name: 'db', at: T },
  );
  it('pads names to the longest', () => {
    expect(frameLines(m, T + 300, 80)).toEqual(['db         starting 300 ms', 'webserver  waiting for db']);
  });
  it("a later event replaces the service's line, in place", () => {
    const m2 = applyEvent(m, { kind: 'ready', name: 'db', ms: 120, at: T + 120 });
    expect(frameLines(m2, T + 300, 80)).toEqual(['db         ready in 120 ms', 'webserver  waiting for db']);
  });
  it('no line is wider than the terminal (a wrapped line would break the redraw)', () => {
    const long = applyEvent(m, { kind: 'failed', name: 'db', reason: `failed (exited 1); last output: ${'x'.repeat(200)}`, at: T });
    const lines = frameLines(long, T, 40);
    expect(lines.map((l) => [...l].length)).toEqual([40, 25]);
    expect(lines[0]).toBe(`db${' '.repeat(9)}failed (exited 1); last outp…`);
  });
  it('paint wraps the phrase only, never the name', () => {
    expect(frameLines(m, T + 300, 80, (tone, t) => `<${tone}>${t}</>`)).toEqual([
      'db         <busy>starting 300 ms</>',
      'webserver  <plain>waiting for db</>',
    ]);
  });
  it.each([
    ['short', 10, 'short'],
    ['exactly10!', 10, 'exactly10!'],
    ['one too long', 10, 'one too l…'],
    ['', 5, ''],
  ])('fitWidth(%j, %d) = %j', (text, width, want) => expect(fitWidth(text, width)).toBe(want));
});

describe('plainLine: without a terminal, one line per event that matters', () => {
  it.each<[ProgressEvent, ProgressEvent | undefined, string | null]>([
    [{ kind: 'ready', name: 'db', ms: 120, at: T }, undefined, 'db: ready in 120 ms'],
    [{ kind: 'down', name: 'db', ms: 40, at: T }, undefined, 'db: down in 40 ms'],
    [
      { kind: 'exited', name: 'a', exit: 'exited 3', now: 'is restarting (backoff)', at: T },
      undefined,
      'a: ready, but exited 3 and is restarting (backoff)',
    ],
    [backoff(), undefined, 'web: in backoff after 5 restarts (exited 1), next start in 4.2 s'],
    [backoff({ at: T + 100 }), backoff(), null], // the same backoff seen again: said once
    [backoff({ nextStartAt: T + 9000, restarts: 6 }), backoff(), 'web: in backoff after 6 restarts (exited 1), next start in 9.0 s'],
    [{ kind: 'waiting', name: 'db', toward: 'up', on: [], at: T }, undefined, null],
    [{ kind: 'starting', name: 'db', at: T }, undefined, null],
    [{ kind: 'stopping', name: 'db', at: T }, undefined, null],
    [{ kind: 'unchanged', name: 'db', state: 'up', at: T }, undefined, null],
    // failures are svctl's error lines on stderr, as before: not repeated on stdout
    [{ kind: 'failed', name: 'db', reason: 'failed (exited 3)', at: T }, undefined, null],
    [{ kind: 'blocked', name: 'web', toward: 'up', reason: 'db failed', at: T }, undefined, null],
    [reloaded({ live: ['restart'] }), undefined, 'db: reloaded: restart applied'],
    [{ kind: 'removed', name: 'w@3', ms: 300, at: T }, undefined, 'w@3: removed in 300 ms'],
    [{ kind: 'reloading', name: 'db', at: T }, undefined, null],
    [{ kind: 'restarting', name: 'db', changed: ['run'], at: T }, undefined, null],
  ])('%j -> %j', (e, prev, line) => expect(plainLine(e, prev)).toBe(line));
});

describe('onlyTouched: restart web says nothing of the db it requires and left running', () => {
  const run = (events: ProgressEvent[]) => {
    const seen: string[] = [];
    const sink = onlyTouched(
      (e) => seen.push(`${e.name} ${e.kind}`),
      (n) => n !== 'web',
    );
    for (const e of events) sink(e);
    return seen;
  };
  it('db up already: neither its waiting nor its unchanged shown; web in full', () => {
    expect(
      run([
        { kind: 'waiting', name: 'db', toward: 'up', on: [], at: T },
        { kind: 'waiting', name: 'web', toward: 'up', on: ['db'], at: T },
        { kind: 'unchanged', name: 'db', state: 'up', at: T },
        { kind: 'starting', name: 'web', at: T },
        { kind: 'ready', name: 'web', ms: 5, at: T },
      ]),
    ).toEqual(['web waiting', 'web starting', 'web ready']);
  });
  it('db had to be started: shown from its waiting on', () => {
    expect(
      run([
        { kind: 'waiting', name: 'db', toward: 'up', on: [], at: T },
        { kind: 'starting', name: 'db', at: T },
        { kind: 'ready', name: 'db', ms: 5, at: T },
      ]),
    ).toEqual(['db waiting', 'db starting', 'db ready']);
  });
});

describe('summaryLine', () => {
  const at = T;
  it.each<[ProgressEvent[], number, string]>([
    [
      [
        { kind: 'ready', name: 'a', ms: 1, at },
        { kind: 'unchanged', name: 'b', state: 'up', at },
        { kind: 'ready', name: 'c', ms: 1, at },
        { kind: 'failed', name: 'd', reason: 'x', at },
      ],
      2149,
      '3 up, 1 failed in 2.1 s',
    ],
    [
      [
        { kind: 'failed', name: 'db', reason: 'x', at },
        { kind: 'blocked', name: 'web', toward: 'up', reason: 'db failed', at },
      ],
      300,
      '1 failed, 1 not started in 300 ms',
    ],
    [
      [
        { kind: 'down', name: 'a', ms: 1, at },
        { kind: 'unchanged', name: 'b', state: 'down', at },
      ],
      40,
      '2 down in 40 ms',
    ],
    [
      [
        { kind: 'down', name: 'a', ms: 1, at },
        { kind: 'blocked', name: 'b', toward: 'down', reason: 'a not down', at },
      ],
      40,
      '1 down, 1 not stopped in 40 ms',
    ],
    [[], 12, 'nothing to do in 12 ms'],
    [
      [reloaded(), { ...reloaded(), name: 'api' } as ProgressEvent, { kind: 'failed', name: 'x', reason: 'no supervisor', at }],
      50,
      '2 reloaded, 1 failed in 50 ms',
    ],
    [
      [
        { kind: 'ready', name: 'w@1', ms: 1, at },
        { kind: 'removed', name: 'w@2', ms: 1, at },
      ],
      50,
      '1 up, 1 removed in 50 ms',
    ],
    [[{ kind: 'reloading', name: 'db', at }], 50, '1 unfinished in 50 ms'],
    [
      [
        { kind: 'ready', name: 'a', ms: 1, at },
        { kind: 'exited', name: 'b', exit: 'exited 3', now: 'failed', at },
      ],
      40,
      '1 up, 1 exited since in 40 ms',
    ],
  ])('%#: %s', (events, ms, line) => expect(summaryLine(model(...events), ms)).toBe(line));
});

describe('interruptedLine: what a stop signal left, in which state', () => {
  it.each<[ProgressEvent[], string]>([
    [
      [
        { kind: 'ready', name: 'db', ms: 1, at: T },
        { kind: 'starting', name: 'web', at: T },
        { kind: 'waiting', name: 'api', toward: 'up', on: ['web'], at: T },
      ],
      'interrupted: web starting, api waiting (left running; svctl down to stop)',
    ],
    [[backoff()], 'interrupted: web in backoff (left running; svctl down to stop)'],
    [
      [
        { kind: 'stopping', name: 'web', at: T },
        { kind: 'waiting', name: 'db', toward: 'down', on: ['web'], at: T },
      ],
      'interrupted: web stopping, db waiting (left as they are; svctl down to finish)',
    ],
    [[{ kind: 'restarting', name: 'db', changed: ['run'], at: T }], 'interrupted: db restarting (left running; svctl down to stop)'],
    [[{ kind: 'reloading', name: 'db', at: T }], 'interrupted: db reloading (left as they are; svctl down to finish)'],
    [[{ kind: 'ready', name: 'db', ms: 1, at: T }], 'interrupted'],
    [[], 'interrupted'],
  ])('%#: %s', (events, line) => expect(interruptedLine(model(...events))).toBe(line));
});

describe('withoutName', () => {
  it.each([
    ['db', 'db: failed (exited 3)', 'failed (exited 3)'],
    ['db', 'db/timeout-kill: expected milliseconds', 'db/timeout-kill: expected milliseconds'],
    ['db', 'dbx: something', 'dbx: something'],
  ])('%s, %j -> %j', (name, line, want) => expect(withoutName(name, line)).toBe(want));
});

describe('the writer', () => {
  const record = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { write: { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t) }, out, err };
  };
  const run = (mode: 'terminal' | 'plain' | 'quiet') => {
    const r = record();
    let now = T;
    const w = makeProgressWriter(r.write, mode, { columns: 80, startedAt: T, now: () => now, tickMs: 60_000 });
    w.emit({ kind: 'waiting', name: 'db', toward: 'up', on: [], at: now });
    w.emit({ kind: 'waiting', name: 'web', toward: 'up', on: ['db'], at: now });
    w.emit({ kind: 'starting', name: 'db', at: now });
    now += 120;
    w.emit({ kind: 'ready', name: 'db', ms: 120, at: now });
    w.emit({ kind: 'starting', name: 'web', at: now });
    now += 30;
    w.emit({ kind: 'ready', name: 'web', ms: 30, at: now });
    w.finish();
    return { ...r, w };
  };

  it.each([
    [false, false, false, 'plain'],
    [false, true, false, 'terminal'],
    [true, true, false, 'quiet'],
    [true, false, false, 'quiet'],
    [false, false, true, 'quiet'], // --json: stdout is for JSON only
    [false, true, true, 'terminal'], // the frame is on stderr
  ])('quiet %s, stderr a TTY %s, --json %s: %s', (quiet, tty, json, mode) => expect(progressMode(quiet, tty, json)).toBe(mode));

  it('terminal: redraws the frame in place on stderr (cursor up over what it drew), then the summary; nothing on stdout', () => {
    const { out, err } = run('terminal');
    expect(out).toEqual([]);
    // the first frame has one line; each later one first moves up over the last one
    expect(err[0]).toBe('\r\x1b[2Kdb  waiting\n');
    expect(err[1]).toBe('\x1b[1A\r\x1b[2Kdb   waiting\n\r\x1b[2Kweb  waiting for db\n');
    expect(err.at(-2)).toBe('\x1b[2A\r\x1b[2Kdb   ready in 120 ms\n\r\x1b[2Kweb  ready in 30 ms\n');
    expect(err.at(-1)).toBe('2 up in 150 ms\n');
  });

  it('plain: a line on stdout per service ready, no escape code, nothing on stderr, no summary', () => {
    const { out, err } = run('plain');
    expect(out).toEqual(['db: ready in 120 ms\n', 'web: ready in 30 ms\n']);
    expect(err).toEqual([]);
  });

  it('quiet: nothing at all, but the model is kept for an interruption', () => {
    const { out, err, w } = run('quiet');
    expect([...out, ...err]).toEqual([]);
    expect(w.interrupted()).toBe('interrupted');
  });

  it('interrupted: the last frame without a summary, and the line naming what was under way', () => {
    const r = record();
    const w = makeProgressWriter(r.write, 'terminal', { columns: 80, startedAt: T, now: () => T, tickMs: 60_000 });
    w.emit({ kind: 'starting', name: 'web', at: T });
    w.emit({ kind: 'waiting', name: 'api', toward: 'up', on: ['web'], at: T });
    w.finish(false);
    expect(r.err.at(-1)).toBe('\x1b[2A\r\x1b[2Kweb  starting 0 ms\n\r\x1b[2Kapi  waiting for web\n');
    expect(w.interrupted()).toBe('interrupted: web starting, api waiting (left running; svctl down to stop)');
    w.emit({ kind: 'ready', name: 'web', ms: 1, at: T }); // late events print nothing once finished
    expect(r.err).toHaveLength(3);
  });
});

describe('colours', () => {
  it.each<[NodeJS.ProcessEnv, boolean, boolean]>([
    [{}, true, true],
    [{}, false, false],
    [{ NO_COLOR: '1' }, true, false],
    [{ NO_COLOR: 'anything' }, true, false],
    [{ NO_COLOR: '' }, true, true], // no-color.org: only a non-empty value counts
    [{ NO_COLOR: '1', FORCE_COLOR: '1' }, true, false],
    [{ FORCE_COLOR: '1' }, false, true],
    [{ FORCE_COLOR: '0' }, false, false],
    [{ FORCE_COLOR: 'false' }, false, false],
    [{ TERM: 'dumb' }, true, false],
    [{ CI: 'true' }, false, false], // picocolors' own guess would colour here
  ])('env %j, a terminal %s: colour %s', (env, tty, want) => expect(colorWanted(env, tty)).toBe(want));

  const on = colors(true);
  it.each([
    ['up', '\x1b[32mup\x1b[39m'],
    ['starting', '\x1b[33mstarting\x1b[39m'],
    ['stopping', '\x1b[33mstopping\x1b[39m'],
    ['failed', '\x1b[31mfailed\x1b[39m'],
    ['backoff', '\x1b[31mbackoff\x1b[39m'],
    ['unsupervised', '\x1b[31munsupervised\x1b[39m'],
    ['down', '\x1b[2mdown\x1b[22m'],
  ])('%s is painted %j', (word, painted) => expect(paintState(on, word)).toBe(painted));
  it('off: every word as it is', () => expect(paintState(colors(false), 'failed')).toBe('failed'));
});

describe('status: READY and a coloured STATE', () => {
  const row = (over: Partial<StatusRow>): StatusRow => ({ ...blankStatus('web', 'longrun'), supervised: true, leftovers: null, ...over });
  const held = (readiness: string) =>
    ({ requires: [], downSignal: 'SIGTERM', timeoutKillMs: 1, timeoutFinishMs: 1, readiness }) as StatusRow['settings'];
  it.each<[Partial<StatusRow>, string]>([
    [{ state: 'up', settings: held('check') }, 'ready (checked)'],
    [{ state: 'up', settings: held('notification-fd') }, 'ready (checked)'],
    [{ state: 'up', settings: held('notification-fd+check') }, 'ready (checked)'],
    [{ state: 'up', settings: held('none') }, 'running (unchecked)'],
    [{ state: 'up' }, 'ready'], // an older svrun: no settings
    [{ state: 'up', settings: held('bogus') }, 'ready'], // status.json is untrusted
    [{ state: 'up', type: 'oneshot', settings: held('none') }, 'ready'], // a oneshot's run succeeded
    [{ state: 'starting', settings: held('check') }, 'not ready'],
    [{ state: 'backoff', settings: held('none') }, '-'],
    [{ state: 'down' }, '-'],
  ])('%j: %s', (over, text) => expect(readiness(row(over))).toBe(text));

  it('colours take no columns: the painted table lines up as the plain one', () => {
    const rows = [row({ name: 'web', state: 'up', pid: 10, settings: held('none') }), row({ name: 'database', state: 'failed' })];
    const plain = statusTable(rows, 0);
    const painted = statusTable(rows, 0, (w) => paintState(colors(true), w));
    expect(painted.map((l) => l.replace(/\x1b\[\d+m/g, ''))).toEqual(plain);
    expect(painted[1]).toContain('\x1b[32mup\x1b[39m      ');
    expect(plain[1]).toMatch(/^web {7}up {6}10 .* running \(unchecked\) /);
  });
});
