// metrics --listen HOST:PORT: the same text as `svctl metrics`, with Node's
// own http module; one computed text serves every scrape while it is fresh
// (snapshot.ts). Read-only and small: one path, bounded header and request
// times, bounded connections that slow clients cannot hold (connections.ts).
// It runs until SIGTERM or SIGINT and then exits 0, as a service does, so a
// metrics endpoint is just one more service folder (services.example/metrics).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import {
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  METRICS_HEADERS_GRACE_MS,
  METRICS_HEADERS_TIMEOUT_MS,
  METRICS_MAX_CONNECTIONS,
  METRICS_REQUEST_TIMEOUT_MS,
  METRICS_TIMEOUT_CHECK_MS,
} from '../../defaults.js';
import { errorText, quote, SvError } from '../../errors.js';
import type { Ctx } from '../context.js';
import { METRICS_CONTENT_TYPE } from './prometheus.js';
import { collectMetrics } from './collect.js';
import { boundConnections } from './connections.js';
import { Snapshot } from './snapshot.js';

export interface ListenAddress {
  host: string;
  port: number;
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/**
 * `HOST:PORT`: an IPv4 address or a host name, or an IPv6 address in
 * brackets (`[::1]:9464`); PORT 0 to 65535 (0: any free port, announced on
 * stderr). The host is never implied: which interfaces see the metrics is
 * the user's choice (`0.0.0.0:9464` for all). A message otherwise.
 */
/** --listen's HOST:PORT; throws a usage error (exit 2) naming what is wrong. */
export const parseListen = (text: string): ListenAddress => {
  const bad = (why: string): never => {
    throw new SvError('svkit.usage', EXIT_USAGE, `--listen: ${why}, got ${quote(text)}`);
  };
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d+)$/.exec(text);
  if (!m) return bad('expected HOST:PORT (127.0.0.1:9464, [::1]:9464)');
  const host = m[1] ?? m[2]!;
  if (host === '') return bad('expected a host before the port (0.0.0.0 for every interface)');
  if (m[1] !== undefined ? isIP(host) !== 6 : isIP(host) !== 4 && !HOSTNAME.test(host)) return bad('not an IP address or host name');
  const port = Number(m[3]);
  if (!/^\d{1,5}$/.test(m[3]!) || port > 65535) return bad('expected a port from 0 to 65535');
  return { host, port };
};

const urlOf = (host: string, port: number) => `http://${isIP(host) === 6 ? `[${host}]` : host}:${port}/metrics`;

const reply = (req: IncomingMessage, res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
  const bytes = Buffer.from(body);
  res.writeHead(status, {
    'Content-Type': status === 200 ? METRICS_CONTENT_TYPE : 'text/plain; charset=utf-8',
    'Content-Length': bytes.length,
    ...headers,
  });
  res.end(req.method === 'HEAD' ? undefined : bytes);
};

/** GET /metrics: the fresh text; the scan directory unusable: 500 with why (also logged); else 404 or 405. */
const handle = (ctx: Ctx, metrics: Snapshot, req: IncomingMessage, res: ServerResponse): void => {
  let path: string;
  try {
    path = new URL(req.url ?? '/', 'http://metrics').pathname;
  } catch {
    path = '';
  }
  if (path !== '/metrics') return reply(req, res, 404, 'not found: the metrics are at /metrics\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') return reply(req, res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
  let text: string;
  try {
    text = metrics.get();
  } catch (err) {
    if (!(err instanceof SvError)) throw err;
    for (const p of err.lines) ctx.err(`metrics: ${p}`);
    return reply(req, res, 500, `${err.lines.map((p) => `svctl: ${p}`).join('\n')}\n`);
  }
  reply(req, res, 200, text);
};

/**
 * Serves until SIGTERM or SIGINT (then 0). What cannot work at all fails
 * first, as one line: the scan directory or a named service (2, as
 * `svctl metrics` would), the address (1: in use, not ours, unknown host).
 */
export const serveMetrics = async (ctx: Ctx, names: readonly string[], listen: string): Promise<number> => {
  const addr = parseListen(listen);
  // the scan directory and the names, checked once before listening (throws, exit 2)
  collectMetrics(ctx, names);

  const metrics = new Snapshot(() => collectMetrics(ctx, names));
  const server = createServer({ connectionsCheckingInterval: METRICS_TIMEOUT_CHECK_MS }, (req, res) => {
    try {
      handle(ctx, metrics, req, res);
    } catch (err) {
      // whatever one request meets, the endpoint keeps serving (a service: only a signal ends it)
      ctx.err(`metrics: ${errorText(err)}`);
      if (!res.headersSent) reply(req, res, 500, `svctl: ${errorText(err)}\n`);
      else res.destroy();
    }
  });
  boundConnections(server, METRICS_MAX_CONNECTIONS, METRICS_HEADERS_GRACE_MS);
  server.requestTimeout = METRICS_REQUEST_TIMEOUT_MS;
  server.headersTimeout = METRICS_HEADERS_TIMEOUT_MS;
  return new Promise<number>((resolve) => {
    let listening = false;
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      server.close(() => resolve(EXIT_OK));
      server.closeAllConnections();
    };
    server.on('error', (err: NodeJS.ErrnoException) => {
      if (listening) {
        ctx.err(`metrics: ${err.message}`); // a failed accept (EMFILE...): logged, the next connection may do
        return;
      }
      ctx.err(`metrics: cannot listen on ${listen}: ${err.code === 'EADDRINUSE' ? 'address already in use' : err.message}`);
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve(EXIT_FAILED);
    });
    server.listen(addr.port, addr.host, () => {
      listening = true;
      const bound = server.address();
      const port = bound !== null && typeof bound === 'object' ? bound.port : addr.port;
      ctx.err(`metrics: listening on ${urlOf(addr.host, port)}`);
    });
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
};
