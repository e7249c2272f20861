// Real traffic for the tests of `listen`: a Node HTTP server written for
// svkit (the client library's listen() and ready()), and a client in the
// test process that opens a new connection every few ms and counts what
// became of each: answered, refused, or failed otherwise.
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ROOT, type Sandbox } from './helpers.js';

const LIB = join(ROOT, 'dist/src/client/index.js');

/**
 * A service folder `name` whose run is a Node HTTP server on its first
 * `listen` socket, ready (notification-fd 4) once it accepts; it answers
 * every request with `PID INSTANCE`, and on its down-signal stops accepting,
 * finishes what it accepted and exits 0. `files` adds settings.
 */
export const httpService = (sb: Sandbox, name: string, addresses: string[], files: Record<string, string> = {}): string => {
  const script = sb.path('server.mjs');
  sb.write(
    sb.dir,
    'server.mjs',
    [
      `import { createServer } from 'node:http';`,
      `import { listen, onShutdown, ready } from '${LIB}';`,
      `const server = createServer((req, res) => res.end(\`\${process.pid} \${process.env.SVKIT_INSTANCE ?? ''}\\n\`));`,
      `onShutdown(function closeServer() { return new Promise((resolve) => server.close(() => resolve())); });`,
      `await listen(server);`,
      `ready();`,
      '',
    ].join('\n'),
  );
  return sb.service(name, `exec node ${script}`, {
    listen: addresses.join('\n'),
    'notification-fd': '4',
    'timeout-kill': '3000',
    ...files,
  });
};

/** A TCP port free right now on 127.0.0.1. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

export interface LoadCounts {
  answered: number;
  refused: number;
  /** Failed otherwise (reset, timeout...), each with its code. */
  failed: string[];
  /** The distinct answers' pids (which runs served). */
  pids: Set<string>;
}

export interface Load {
  counts: LoadCounts;
  /** Stops sending, waits for every request in flight to end; the counts. */
  stop(): Promise<LoadCounts>;
}

/** One new connection (no keep-alive) to http://127.0.0.1:`port`/ every `everyMs`, until stop(). */
export const startLoad = (port: number, everyMs = 5): Load => {
  const counts: LoadCounts = { answered: 0, refused: 0, failed: [], pids: new Set() };
  let open = 0;
  let drained: (() => void) | null = null;
  const one = () => {
    open += 1;
    let done = false;
    const end = () => {
      if (done) return;
      done = true;
      open -= 1;
      if (open === 0) drained?.();
    };
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 15_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => {
        if (res.statusCode === 200 && /^\d+ /.test(body)) {
          counts.answered += 1;
          counts.pids.add(body.split(' ')[0]!);
        } else counts.failed.push(`HTTP ${res.statusCode} ${body.trim()}`);
        end();
      });
      res.on('error', (err: NodeJS.ErrnoException) => {
        counts.failed.push(err.code ?? err.message);
        end();
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') counts.refused += 1;
      else counts.failed.push(err.code ?? err.message);
      end();
    });
    req.end();
  };
  const timer = setInterval(one, everyMs);
  return {
    counts,
    stop: async () => {
      clearInterval(timer);
      if (open > 0) await new Promise<void>((resolve) => (drained = resolve));
      return counts;
    },
  };
};
