// The pipe between a service and its log/ logger, held by svrun: a FIFO in
// supervise/ that svrun keeps open for reading and writing, so neither the
// service nor the logger ever sees EOF or SIGPIPE when the other restarts,
// and lines written while the logger is down wait in the pipe for the next one.
import { closeSync, constants, openSync } from 'node:fs';
import { ensureFifo, openFifo } from '../os/fifo.js';
import { LOG_FLUSH_MS, PIPE_FLUSH_MS } from '../defaults.js';
import { QueuedWriter } from './files.js';
import type { LogSink } from './builtin.js';
import { eventText, formatPiped } from './format.js';
import { asideText } from '../os/safefile.js';

export interface LogPipe {
  /** The service's stdout and stderr (blocking, as programs expect). */
  serviceOut: number;
  /** The logger's stdin (read-only: once svrun lets go, the logger sees EOF). */
  loggerIn: number;
  /** svrun's own events: non-blocking, so a full pipe never stalls the supervisor. */
  sink: LogSink;
  /** Lets go of the pipe: the logger reads what is left, then EOF. */
  close(): Promise<void>;
}

export const openLogPipe = (fifo: string, onError: (text: string) => void): LogPipe => {
  // a folder planted where the pipe goes is moved aside: said in the log once the pipe is there
  const moved: string[] = [];
  ensureFifo(fifo, (m) => moved.push(asideText('supervise', m, 'a FIFO')));
  // never through a planted symlink: the FIFO is checked once, then reopened through /proc/self/fd
  const probe = openFifo(fifo);
  // O_RDWR first: it never blocks, and with it held the blocking opens below return at once
  const keep = probe.again(constants.O_RDWR);
  closeSync(probe.fd);
  const again = (flags: number) => openSync(`/proc/self/fd/${keep}`, flags);
  const loggerIn = again(constants.O_RDONLY);
  const serviceOut = again(constants.O_WRONLY);
  const events = again(constants.O_WRONLY | constants.O_NONBLOCK);
  const writer = new QueuedWriter({ ownsFd: false, open: () => ({ fd: events, size: 0 }) }, onError);
  for (const text of moved) writer.push(formatPiped('svrun', eventText({ kind: 'error', text })));
  return {
    serviceOut,
    loggerIn,
    sink: {
      line: (stream, text) => writer.push(formatPiped(stream, text)),
      close: (ms = LOG_FLUSH_MS) => writer.close(ms),
      get backlogged() {
        return writer.backlogged;
      },
      onDrain: (fn) => writer.onDrain(fn),
    },
    close: async () => {
      await writer.close(PIPE_FLUSH_MS);
      for (const fd of [events, serviceOut, keep, loggerIn]) {
        try {
          closeSync(fd);
        } catch {
          /* closed already */
        }
      }
    },
  };
};
