// Signal names as users write them (TERM, SIGTERM) and as status.json shows
// them, and the down-signals SPEC.md allows (TERM INT QUIT HUP USR1 USR2).
import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { DOWN_SIGNALS, exitStatus, normalizeSignal, parseDownSignal, signalName, signalNumber } from '../src/signals.js';

describe('signals: normalizeSignal', () => {
  it.each<[string, string | null]>([
    ['TERM', 'SIGTERM'],
    ['SIGTERM', 'SIGTERM'],
    ['term', 'SIGTERM'],
    ['sigterm', 'SIGTERM'],
    ['SigTerm', 'SIGTERM'],
    [' HUP ', 'SIGHUP'],
    ['\tINT\r', 'SIGINT'],
    ['KILL', 'SIGKILL'],
    ['SIGKILL', 'SIGKILL'],
    ['STOP', 'SIGSTOP'],
    ['usr1', 'SIGUSR1'],
    ['WINCH', 'SIGWINCH'],
    ['FOO', null],
    ['SIGFOO', null],
    ['', null],
    ['SIG', null],
    ['15', null],
    ['SIG15', null],
    ['TERM INT', null],
    ['constructor', null],
    ['__proto__', null],
  ])('%j -> %s', (text, expected) => {
    expect(normalizeSignal(text)).toBe(expected);
  });
});

describe('signals: parseDownSignal (SPEC: TERM, INT, QUIT, HUP, USR1, USR2, with or without SIG)', () => {
  it('DOWN_SIGNALS is exactly the SPEC list', () => {
    expect([...DOWN_SIGNALS]).toEqual(['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2']);
  });

  it.each<[string, string]>([
    ['TERM', 'SIGTERM'],
    ['SIGTERM', 'SIGTERM'],
    ['term', 'SIGTERM'],
    ['INT', 'SIGINT'],
    ['SIGINT', 'SIGINT'],
    ['QUIT', 'SIGQUIT'],
    ['sigquit', 'SIGQUIT'],
    ['HUP', 'SIGHUP'],
    ['SIGHUP', 'SIGHUP'],
    ['USR1', 'SIGUSR1'],
    ['SIGUSR1', 'SIGUSR1'],
    ['USR2', 'SIGUSR2'],
    ['sigusr2', 'SIGUSR2'],
    [' TERM ', 'SIGTERM'],
  ])('%j is a down-signal: %s', (text, expected) => {
    expect(parseDownSignal(text)).toBe(expected);
  });

  it.each<[string]>([
    ['KILL'],
    ['SIGKILL'],
    ['STOP'],
    ['CONT'],
    ['ALRM'],
    ['WINCH'],
    ['CHLD'],
    ['SEGV'],
    ['FOO'],
    ['SIGFOO'],
    [''],
    ['15'],
    ['SIG'],
  ])('%j is rejected as down-signal', (text) => {
    expect(parseDownSignal(text)).toBeNull();
  });
});

describe('signals: signalNumber and signalName', () => {
  it.each<[NodeJS.Signals, number]>([
    ['SIGHUP', 1],
    ['SIGINT', 2],
    ['SIGQUIT', 3],
    ['SIGABRT', 6],
    ['SIGKILL', 9],
    ['SIGUSR1', 10],
    ['SIGSEGV', 11],
    ['SIGUSR2', 12],
    ['SIGPIPE', 13],
    ['SIGALRM', 14],
    ['SIGTERM', 15],
    ['SIGCHLD', 17],
    ['SIGCONT', 18],
    ['SIGSTOP', 19],
    ['SIGTSTP', 20],
    ['SIGWINCH', 28],
  ])('%s <-> %i', (name, num) => {
    expect(signalNumber(name)).toBe(num);
    expect(signalName(num)).toBe(name);
  });

  it('every number of the table round-trips: signalNumber(signalName(n)) === n', () => {
    const nums = [...new Set(Object.values(constants.signals as Record<string, number>))];
    expect(nums.length).toBeGreaterThan(25);
    for (const n of nums) {
      const name = signalName(n);
      expect(name, `signal ${n}`).not.toBeNull();
      expect(signalNumber(name!), `signal ${n}`).toBe(n);
    }
  });

  it('every name round-trips to itself or to the first alias of its number', () => {
    for (const [name, n] of Object.entries(constants.signals as Record<string, number>)) {
      expect(signalNumber(name as NodeJS.Signals)).toBe(n);
      expect(signalName(signalNumber(name as NodeJS.Signals))!, name).toBe(
        Object.keys(constants.signals).find((k) => (constants.signals as Record<string, number>)[k] === n),
      );
    }
  });

  it.each<[string, number]>([
    ['SIGIOT', 6],
    ['SIGPOLL', 29],
  ])('alias %s has number %i', (name, n) => {
    expect(signalNumber(name as NodeJS.Signals)).toBe(n);
  });

  it.each<[number]>([[0], [-1], [65], [999], [1.5]])('signalName(%s) is null', (n) => {
    expect(signalName(n)).toBeNull();
  });

  it.each<[string]>([['SIGFOO'], ['TERM'], ['']])('signalNumber(%j) is 0', (name) => {
    expect(signalNumber(name as NodeJS.Signals)).toBe(0);
  });

  it('down-signals round-trip through number and name', () => {
    for (const s of DOWN_SIGNALS) expect(signalName(signalNumber(s))).toBe(s);
  });
});

describe('signals: exitStatus (the shell status: the code, or 128+N for signal N)', () => {
  it.each<[number | null, NodeJS.Signals | null, number]>([
    [0, null, 0],
    [1, null, 1],
    [3, null, 3],
    [127, null, 127],
    [255, null, 255],
    [null, 'SIGHUP', 129],
    [null, 'SIGINT', 130],
    [null, 'SIGKILL', 137],
    [null, 'SIGSEGV', 139],
    [null, 'SIGTERM', 143],
    [null, null, 128],
  ])('code %s, signal %s -> %i', (code, signal, status) => {
    expect(exitStatus(code, signal)).toBe(status);
  });
});
