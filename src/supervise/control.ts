// The control protocol of supervise/control (docs/status.md):
// runit's one-letter commands, each either a command to the supervisor's
// state machine or a signal it relays to the service's process group. This
// table is the protocol's one home: svrun parses letters with it, svctl sends
// them with it, and docs/status.md's table is checked against it
// (test/supervise/control.test.ts).
//
// svrun keeps the FIFO open for writing too, so it never reads EOF, and reads
// it through a non-blocking pipe handle (no libuv thread-pool thread tied up).
// A writer that finds no reader gets ENXIO: "not supervised".
import { closeSync, constants } from 'node:fs';
import { Socket } from 'node:net';
import { ensureFifo, openFifo, writeFifo } from '../os/fifo.js';
import type { Command } from '../vocabulary.js';

interface CommandLetter {
  readonly letter: Command;
  readonly meaning: string;
  /** What the state machine is told: the letter is the Command itself. */
  readonly command: Command;
  readonly signal: null;
}

/** The letters that relay a signal. */
export type RelayLetter = 't' | 'h' | 'i' | 'q' | '1' | '2' | 'a' | 'w' | 'p' | 'c' | 'k';
/** Every letter of the protocol. */
export type Letter = Command | RelayLetter;

interface SignalLetter {
  readonly letter: RelayLetter;
  readonly meaning: string;
  readonly command: null;
  /** Sent to the service's process group. */
  readonly signal: NodeJS.Signals;
}

export type ControlLetter = CommandLetter | SignalLetter;

const command = (letter: Command, meaning: string): CommandLetter => ({ letter, meaning, command: letter, signal: null });
const relay = (letter: RelayLetter, signal: NodeJS.Signals): SignalLetter => ({
  letter,
  meaning: `send ${signal.slice(3)} to the service's process group`,
  command: null,
  signal,
});

/** Every letter a supervisor understands, in runit's order; a byte not here is ignored. */
export const CONTROL_LETTERS: readonly ControlLetter[] = [
  command('u', 'up: start the service, keep it running'),
  command('d', 'down: stop it (down-signal, timeout-kill, then SIGKILL)'),
  command('o', 'once: start it, do not restart it'),
  command('x', 'stop the service (as d), then exit the supervisor'),
  command('l', 'reload: read the service folder again and apply what changed, restarting the service when what it runs changed'),
  relay('t', 'SIGTERM'),
  relay('h', 'SIGHUP'),
  relay('i', 'SIGINT'),
  relay('q', 'SIGQUIT'),
  relay('1', 'SIGUSR1'),
  relay('2', 'SIGUSR2'),
  relay('a', 'SIGALRM'),
  relay('w', 'SIGWINCH'),
  relay('p', 'SIGSTOP'),
  relay('c', 'SIGCONT'),
  relay('k', 'SIGKILL'),
];

const BY_LETTER = new Map<string, ControlLetter>(CONTROL_LETTERS.map((l) => [l.letter, l]));
const BY_SIGNAL = new Map(CONTROL_LETTERS.flatMap((l) => (l.signal ? [[l.signal, l] as const] : [])));

/** The letter one byte of the FIFO stands for, or null (anything else is ignored). */
export const parseLetter = (byte: string): ControlLetter | null => BY_LETTER.get(byte) ?? null;

/** The letter that makes a supervisor relay `signal`, or null when supervisors do not relay it. */
export const letterForSignal = (signal: NodeJS.Signals): ControlLetter | null => BY_SIGNAL.get(signal) ?? null;

/** The signals supervisors relay, in the table's order. */
export const RELAYED_SIGNALS: readonly NodeJS.Signals[] = [...BY_SIGNAL.keys()];

export interface ControlReader {
  close(): void;
}

/** Reads the FIFO at `path` and hands each letter of the protocol to `onLetter`. */
export const openControl = (path: string, onLetter: (letter: ControlLetter) => void): ControlReader => {
  ensureFifo(path);
  const { fd: rfd, again } = openFifo(path);
  const wfd = again(constants.O_WRONLY | constants.O_NONBLOCK);
  const socket = new Socket({ fd: rfd, readable: true, writable: false });
  socket.on('data', (chunk: Buffer) => {
    for (const byte of chunk.toString('latin1')) {
      const letter = parseLetter(byte);
      if (letter) onLetter(letter);
    }
  });
  socket.on('error', () => {
    /* a FIFO read error leaves the supervisor supervising; signals still work */
  });
  return {
    close: () => {
      socket.destroy();
      closeSync(wfd);
    },
  };
};

export type SendResult = 'sent' | 'not-supervised';

/**
 * Client side: one letter to the supervisor reading the FIFO at `path`, or
 * 'not-supervised' (ENXIO: nobody reads it; or no FIFO). `letter` is a
 * letter of the table or the table's entry itself.
 */
export const sendControl = (path: string, letter: Letter | ControlLetter): SendResult =>
  writeFifo(path, typeof letter === 'string' ? letter : letter.letter) === 'written' ? 'sent' : 'not-supervised';
