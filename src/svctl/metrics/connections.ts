// How many connections the metrics endpoint holds, and who gives way past
// the bound. A connection that has sent no complete request after
// METRICS_HEADERS_GRACE_MS (a slow-header client: a real scraper sends its
// few header lines at once), or that sits idle between requests, is the one
// closed to let a new one in, oldest first; only when every connection is
// being answered or has just arrived is the new one refused. So clients
// that open connections and send nothing cannot keep a real scrape out.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

interface Held {
  /** When it arrived, or last finished a response. */
  since: number;
  /** A request of it is being answered. */
  busy: boolean;
}

/** The connection to close for a new one: the oldest not being answered and older than `graceMs`, or null. */
export const victimOf = <K>(held: ReadonlyMap<K, Held>, now: number, graceMs: number): K | null => {
  let best: K | null = null;
  let bestSince = Infinity;
  for (const [k, h] of held) {
    if (h.busy || now - h.since < graceMs || h.since >= bestSince) continue;
    best = k;
    bestSince = h.since;
  }
  return best;
};

/** Bounds `server` to `max` connections as above (instead of Node's maxConnections, which refuses the newest). */
export const boundConnections = (server: Server, max: number, graceMs: number, now: () => number = Date.now): void => {
  const held = new Map<Socket, Held>();
  server.on('connection', (socket: Socket) => {
    if (held.size >= max) {
      const victim = victimOf(held, now(), graceMs);
      if (victim === null) return void socket.destroy();
      held.delete(victim);
      victim.destroy();
    }
    held.set(socket, { since: now(), busy: false });
    socket.once('close', () => held.delete(socket));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const h = held.get(req.socket);
    if (!h) return;
    h.busy = true;
    res.once('close', () => {
      h.busy = false;
      h.since = now(); // idle from now on (keep-alive)
    });
  });
};
