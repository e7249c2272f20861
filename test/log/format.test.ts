// The built-in log's format (src/log/format.ts), pure: log lines, rotated
// file names and svrun's events, each formatted and parsed, as tables and as
// round-trips (format, then parse, gives back the input), fixed and random;
// and docs/logging.md's list of svrun's events agreeing with the module.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CURRENT,
  eventText,
  formatLabelled,
  formatLine,
  formatPiped,
  isRotatedName,
  labelFor,
  type LogLine,
  lineTime,
  parseEvent,
  parseLine,
  parseRotatedName,
  rotatedName,
  STREAMS,
  type SvrunEvent,
} from '../../src/log/format.js';
import { ROOT } from '../helpers.js';

const T = '2026-11-23T10:00:00.120Z';
const MS = Date.parse(T);

describe('format: log lines', () => {
  it.each<[string, string, LogLine['stream'], string]>([
    ['a service line', `${T} out hello world\n`, 'out', 'hello world'],
    ['stderr', `${T} err warning: disk 91% full\n`, 'err', 'warning: disk 91% full'],
    ['an svrun event', `${T} svrun started pid 42\n`, 'svrun', 'started pid 42'],
    ['an empty line', `${T} out \n`, 'out', ''],
    ['spaces and tabs kept', `${T} out   indented\ttab \n`, 'out', '  indented\ttab '],
    ['unicode, U+2028 included', `${T} out ünï ✓ 😀 a\u2028b\n`, 'out', 'ünï ✓ 😀 a\u2028b'],
  ])('%s', (_what, written, stream, text) => {
    expect(formatLine(T, stream, text)).toBe(written);
    expect(parseLine(written.slice(0, -1))).toEqual({ at: T, stream, text });
    expect(lineTime(written)).toBe(MS);
  });

  it.each<[string, string, LogLine | null, number | null]>([
    ['appended by hand', 'appended by hand', null, null],
    ['a date without time', '2026-11-23 out no', null, null],
    ['an unknown stream', `${T} log hello`, null, MS],
    ['no space after the time', `${T}out hello`, null, null],
    ['no stream', `${T} `, null, MS],
    ['an impossible date', '2026-13-45T10:00:00.000Z out x', null, null],
    [
      'a time without milliseconds (written by hand)',
      '2026-11-23T10:00:00Z out x',
      { at: '2026-11-23T10:00:00Z', stream: 'out', text: 'x' },
      Date.parse('2026-11-23T10:00:00Z'),
    ],
  ])('%s: %j parses as %j, time %s', (_what, line, parsed, time) => {
    expect(parseLine(line)).toEqual(parsed);
    expect(lineTime(line)).toBe(time);
  });

  it('on svrun stdout: `NAME | <stream> <text>`, the name padded (and painted) as told', () => {
    expect(formatLabelled(labelFor('web'), 'out', 'hi')).toBe('web | out hi\n');
    expect(formatLabelled(labelFor('web', 6), 'svrun', 'ready')).toBe('web    | svrun ready\n');
    // a service's colour that it resets only on its next line stops at the end of its own
    expect(formatLabelled(labelFor('web'), 'out', '\x1b[31mred')).toBe('web | out \x1b[31mred\x1b[0m\n');
    expect(labelFor('db', 4, (s) => `<${s}>`)).toBe('<db  > | ');
  });

  it('in the pipe to a log/ logger: the service as it is, svrun marked', () => {
    expect(formatPiped('out', 'hello')).toBe('hello\n');
    expect(formatPiped('err', 'oops')).toBe('oops\n');
    expect(formatPiped('svrun', 'ready')).toBe('svrun: ready\n');
  });

  it('round-trip: any time, stream and one-line text', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1970-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }),
        fc.constantFrom(...STREAMS),
        fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('\n')),
        (date, stream, text) => {
          const at = date.toISOString();
          const written = formatLine(at, stream, text);
          expect(written.endsWith('\n')).toBe(true);
          expect(parseLine(written.slice(0, -1))).toEqual({ at, stream, text });
          expect(lineTime(written)).toBe(date.getTime());
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('format: the log folder', () => {
  it('current, and rotated files named by their time', () => {
    expect(CURRENT).toBe('current');
    expect(rotatedName(MS)).toBe(`@${T}.s`);
    expect(parseRotatedName(`@${T}.s`)).toBe(MS);
  });

  it.each<[string]>([
    [CURRENT],
    ['@x.s'],
    [`@${T}.u`],
    [`${T}.s`],
    [`@${T}`],
    [`@${T}.s.tmp`],
    ['@2026-13-45T10:00:00.000Z.s'],
    ['supervise'],
    [`current.${T}.not-a-file`],
  ])('%s is not a rotated file', (name) => {
    expect(parseRotatedName(name)).toBeNull();
    expect(isRotatedName(name)).toBe(false);
  });

  it('round-trip, and names sort as their times do', () => {
    const when = fc.integer({ min: 0, max: Date.parse('9999-12-31T23:59:59.999Z') });
    fc.assert(
      fc.property(when, when, (a, b) => {
        expect(parseRotatedName(rotatedName(a))).toBe(a);
        expect(rotatedName(a) < rotatedName(b)).toBe(a < b);
      }),
      { numRuns: 500 },
    );
  });
});

describe('format: svrun events', () => {
  it.each<[string, SvrunEvent]>([
    ['started pid 42', { kind: 'started', pid: 42 }],
    ['ready', { kind: 'ready' }],
    ['stopping: SIGTERM', { kind: 'stopping', signal: 'SIGTERM' }],
    ['stopping: SIGUSR1', { kind: 'stopping', signal: 'SIGUSR1' }],
    ['exited 0', { kind: 'exited', code: 0, signal: null }],
    ['exited 3', { kind: 'exited', code: 3, signal: null }],
    ['killed by SIGKILL', { kind: 'exited', code: null, signal: 'SIGKILL' }],
    ['killed after 7000 ms', { kind: 'killed-after', ms: 7000 }],
    ['restarting in 0 ms', { kind: 'restarting', ms: 0 }],
    ['restarting in 1600 ms', { kind: 'restarting', ms: 1600 }],
    ['down', { kind: 'settled', state: 'down' }],
    ['failed', { kind: 'settled', state: 'failed' }],
    ['error: run: spawn EACCES', { kind: 'error', text: 'run: spawn EACCES' }],
    ['error: ', { kind: 'error', text: '' }],
    ['health: failing: check exited 1', { kind: 'health-failing', detail: 'exited 1' }],
    ['health: failing: check timed out after 200 ms', { kind: 'health-failing', detail: 'timed out after 200 ms' }],
    ['unhealthy: check failed 1 time', { kind: 'unhealthy', failures: 1 }],
    ['unhealthy: check failed 3 times', { kind: 'unhealthy', failures: 3 }],
    ['health: recovered after 1 failed check', { kind: 'health-recovered', failures: 1 }],
    ['health: recovered after 2 failed checks', { kind: 'health-recovered', failures: 2 }],
    ['watchdog: no heartbeat for 405 ms', { kind: 'watchdog', ms: 405 }],
  ])('%s', (text, event) => {
    expect(eventText(event)).toBe(text);
    expect(parseEvent(text)).toEqual(event);
  });

  it.each<[string]>([
    ['up'],
    ['started'],
    ['started pid x'],
    ['exited'],
    ['killed by 9'],
    ['log: ready'],
    ['error'],
    ['restarting in 5'],
    [' ready'],
    ['ready '],
  ])('%j is no event', (text) => {
    expect(parseEvent(text)).toBeNull();
  });

  it('round-trip: any event, and through a whole log line', () => {
    const signal = fc.constantFrom<NodeJS.Signals>(
      'SIGTERM',
      'SIGKILL',
      'SIGINT',
      'SIGHUP',
      'SIGQUIT',
      'SIGUSR1',
      'SIGUSR2',
      'SIGSEGV',
      'SIGABRT',
    );
    const ms = fc.nat();
    const event: fc.Arbitrary<SvrunEvent> = fc.oneof(
      fc.record({ kind: fc.constant('started' as const), pid: fc.integer({ min: 1, max: 4194304 }) }),
      fc.constant({ kind: 'ready' as const }),
      fc.record({ kind: fc.constant('stopping' as const), signal }),
      fc.record({ kind: fc.constant('exited' as const), code: fc.integer({ min: 0, max: 255 }), signal: fc.constant(null) }),
      fc.record({ kind: fc.constant('exited' as const), code: fc.constant(null), signal }),
      fc.record({ kind: fc.constant('killed-after' as const), ms }),
      fc.record({ kind: fc.constant('restarting' as const), ms }),
      fc.record({ kind: fc.constant('settled' as const), state: fc.constantFrom('down' as const, 'failed' as const) }),
      fc.record({ kind: fc.constant('error' as const), text: fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('\n')) }),
      fc.record({ kind: fc.constant('health-failing' as const), detail: fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('\n')) }),
      fc.record({ kind: fc.constant('unhealthy' as const), failures: fc.integer({ min: 1, max: 1000 }) }),
      fc.record({ kind: fc.constant('health-recovered' as const), failures: fc.integer({ min: 1, max: 1000 }) }),
      fc.record({ kind: fc.constant('watchdog' as const), ms }),
    );
    fc.assert(
      fc.property(event, (e) => {
        expect(parseEvent(eventText(e))).toEqual(e);
        const line = parseLine(formatLine(T, 'svrun', eventText(e)).slice(0, -1));
        expect(line && parseEvent(line.text)).toEqual(e);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('format: docs/logging.md lists exactly these events', () => {
  it('each event the docs name parses, and every kind is named', () => {
    const md = readFileSync(join(ROOT, 'docs', 'logging.md'), 'utf8');
    const start = md.indexOf("for the supervisor's own events");
    const list = md.slice(start, md.indexOf(').', start));
    const samples: Record<string, string> = { N: '7', CODE: '3', SIGNAME: 'SIGTERM', TEXT: 'log: full' };
    const named = [...list.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.replace(/\b(N|CODE|SIGNAME|TEXT)\b/g, (w) => samples[w]!));
    const kinds = named.map((text) => {
      const e = parseEvent(text);
      expect(e, text).not.toBeNull();
      expect(eventText(e!)).toBe(text);
      return e!.kind;
    });
    // every kind, checked by the compiler: a new kind of event fails to build here until it is named
    const ALL: Record<SvrunEvent['kind'], true> = {
      started: true,
      ready: true,
      stopping: true,
      exited: true,
      'killed-after': true,
      restarting: true,
      settled: true,
      error: true,
      'health-failing': true,
      unhealthy: true,
      'health-recovered': true,
      watchdog: true,
    };
    expect(new Set(kinds)).toEqual(new Set(Object.keys(ALL)));
  });
});
