// The control FIFO protocol (src/supervise/control.ts): the letter table, parsing a
// byte, the event each letter gives the state machine, the table in
// docs/status.md agreeing with the module, and both ends over a real FIFO.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CONTROL_LETTERS,
  type ControlLetter,
  letterForSignal,
  openControl,
  parseLetter,
  RELAYED_SIGNALS,
  sendControl,
} from '../../src/supervise/control.js';
import { ensureFifo, writeFifo } from '../../src/os/fifo.js';
import { letterEvent } from '../../src/supervisor/state.js';
import { ROOT, waitFor } from '../helpers.js';

describe('control: the letter table', () => {
  it.each<[string, string | null, NodeJS.Signals | null]>([
    ['u', 'u', null],
    ['d', 'd', null],
    ['o', 'o', null],
    ['x', 'x', null],
    ['l', 'l', null],
    ['t', null, 'SIGTERM'],
    ['h', null, 'SIGHUP'],
    ['i', null, 'SIGINT'],
    ['q', null, 'SIGQUIT'],
    ['1', null, 'SIGUSR1'],
    ['2', null, 'SIGUSR2'],
    ['a', null, 'SIGALRM'],
    ['w', null, 'SIGWINCH'],
    ['p', null, 'SIGSTOP'],
    ['c', null, 'SIGCONT'],
    ['k', null, 'SIGKILL'],
  ])('%s: command %s, signal %s', (byte, command, signal) => {
    const l = parseLetter(byte)!;
    expect(l).toMatchObject({ letter: byte, command, signal });
    expect(l.meaning.length).toBeGreaterThan(0);
    if (signal) expect(letterForSignal(signal)).toBe(l);
  });

  it('no other byte is a letter (0..255)', () => {
    const letters = new Set(CONTROL_LETTERS.map((l) => l.letter));
    expect(letters.size).toBe(16);
    for (let b = 0; b < 256; b++) {
      const ch = String.fromCharCode(b);
      if (!letters.has(ch as ControlLetter['letter'])) expect(parseLetter(ch)).toBeNull();
    }
    expect(parseLetter('')).toBeNull();
    expect(parseLetter('ud')).toBeNull();
  });

  it('letterForSignal: null for a signal supervisors do not relay', () => {
    expect(letterForSignal('SIGSEGV')).toBeNull();
    expect(letterForSignal('SIGPIPE')).toBeNull();
    expect(RELAYED_SIGNALS).toEqual([
      'SIGTERM',
      'SIGHUP',
      'SIGINT',
      'SIGQUIT',
      'SIGUSR1',
      'SIGUSR2',
      'SIGALRM',
      'SIGWINCH',
      'SIGSTOP',
      'SIGCONT',
      'SIGKILL',
    ]);
  });

  it('letterEvent: a command letter is a command, a signal letter a send', () => {
    expect(letterEvent(parseLetter('x')!, 5)).toEqual({ type: 'command', cmd: 'x', at: 5 });
    expect(letterEvent(parseLetter('k')!, 6)).toEqual({ type: 'send', signal: 'SIGKILL', at: 6 });
  });
});

describe('control: docs/status.md agrees with the module', () => {
  /** The rows of the table under "## The control FIFO": backticked letters, then the meaning. */
  const docRows = (): { letters: string[]; meaning: string }[] => {
    const md = readFileSync(join(ROOT, 'docs', 'status.md'), 'utf8');
    const section = md.slice(md.indexOf('## The control FIFO'));
    const table = section.slice(0, section.indexOf('\n\n', section.indexOf('| letter')));
    return table
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .map((row) => {
        const [, letters, meaning] = row.split('|').map((c) => c.trim());
        return { letters: [...letters!.matchAll(/`(.)`/g)].map((m) => m[1]!), meaning: meaning! };
      });
  };

  it('every letter is documented once, with its command or its signal', () => {
    const rows = docRows();
    const documented = rows.flatMap((r) => r.letters);
    expect([...documented].sort()).toEqual(CONTROL_LETTERS.map((l) => l.letter).sort());
    for (const row of rows) {
      const signals = /^send ([A-Z0-9]+(?:, [A-Z0-9]+)*)/.exec(row.meaning)?.[1]?.split(', ') ?? null;
      row.letters.forEach((letter, i) => {
        const l = parseLetter(letter)!;
        if (signals) expect([letter, l.signal]).toEqual([letter, `SIG${signals[i]}`]);
        else expect([letter, l.command]).toEqual([letter, letter]);
      });
    }
  });
});

describe('control: over a real FIFO', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('sendControl: not-supervised with no FIFO and with nobody reading it', () => {
    dir = mkdtempSync(join(tmpdir(), 'svkit-control-'));
    const fifo = join(dir, 'control');
    expect(sendControl(fifo, 'u')).toBe('not-supervised');
    ensureFifo(fifo);
    expect(sendControl(fifo, 'u')).toBe('not-supervised');
  });

  it('openControl hands over the letters, in order, and ignores every other byte', async () => {
    dir = mkdtempSync(join(tmpdir(), 'svkit-control-'));
    const fifo = join(dir, 'control');
    const got: string[] = [];
    const reader = openControl(fifo, (l) => got.push(l.letter));
    try {
      expect(sendControl(fifo, 'd')).toBe('sent');
      expect(sendControl(fifo, parseLetter('k')!)).toBe('sent');
      // a raw writer: junk bytes around a letter
      expect(writeFifo(fifo, 'zZ\n\x00u?')).toBe('written');
      await waitFor(
        () => got.length >= 3,
        () => `3 letters, got ${JSON.stringify(got)}`,
        2000,
      );
      expect(got).toEqual(['d', 'k', 'u']);
    } finally {
      reader.close();
    }
  });
});
