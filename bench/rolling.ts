// A rolling restart of a pool under load: three instances of a Node HTTP
// server share one port (`listen` in the template: each supervisor holds a
// socket, SO_REUSEPORT), a load generator in this process keeps a fixed
// number of requests in flight, each on a new connection, and `svctl
// restart --rolling 'web@*'` restarts the pool. Counted over the roll: the
// requests served, refused (ECONNREFUSED) and failed otherwise.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Owned } from './proc.js';
import { ROOT, SVCTL, until, writeService } from './peers.js';

const CLIENT = join(ROOT, 'dist/src/client/index.js');
/** Requests kept in flight by the load generator. */
const CONCURRENCY = 8;
const POOL = 3;

export interface RollingFigures {
  served: number;
  refused: number;
  failed: number;
  rollMs: number;
}

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

const svctl = (scan: string, args: string[], owned: Owned): Promise<number | null> =>
  new Promise((resolve) => {
    const c = spawn(process.execPath, [SVCTL, '-d', scan, '-q', ...args], { stdio: 'ignore' });
    owned.add(c.pid);
    c.once('exit', (code) => resolve(code));
  });

const supervisorOf = (dir: string): number | null => {
  try {
    return (
      (JSON.parse(readFileSync(join(dir, 'supervise/status.json'), 'utf8')) as { supervisor?: { pid: number } }).supervisor?.pid ?? null
    );
  } catch {
    return null;
  }
};

/** One rolling restart of a pool of 3 under load, in its own scan directory. */
export const rollingUnderLoad = async (scan: string, owned: Owned): Promise<RollingFigures> => {
  const port = await freePort();
  mkdirSync(scan, { recursive: true });
  writeFileSync(
    join(scan, 'server.mjs'),
    [
      `import { createServer } from 'node:http';`,
      `import { listen, onShutdown, ready } from '${CLIENT}';`,
      `const server = createServer((req, res) => res.end('ok\\n'));`,
      `onShutdown(() => new Promise((resolve) => server.close(() => resolve())));`,
      `await listen(server);`,
      `ready();`,
      '',
    ].join('\n'),
  );
  const t = writeService(join(scan, 'web@'), `exec node ${join(scan, 'server.mjs')}`);
  writeFileSync(join(t, 'listen'), `127.0.0.1:${port}\n`);
  writeFileSync(join(t, 'notification-fd'), '4\n');
  if ((await svctl(scan, ['scale', 'web@', String(POOL)], owned)) !== 0) throw new Error('bench: the pool did not come up');
  for (let i = 1; i <= POOL; i++) owned.addTree(supervisorOf(join(scan, `web@${i}`)));

  const counts = { served: 0, refused: 0, failed: 0 };
  let counting = false;
  let running = true;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          if (counting) res.statusCode === 200 ? counts.served++ : counts.failed++;
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (counting) err.code === 'ECONNREFUSED' ? counts.refused++ : counts.failed++;
        resolve();
      });
      req.end();
    });
  const worker = async () => {
    while (running) await one();
  };
  const workers = Array.from({ length: CONCURRENCY }, worker);
  // the load runs before and after the roll; only the roll is counted
  await new Promise((r) => setTimeout(r, 300));
  counting = true;
  const t0 = performance.now();
  const code = await svctl(scan, ['restart', '--rolling', 'web@*'], owned);
  const rollMs = performance.now() - t0;
  counting = false;
  running = false;
  await Promise.all(workers);
  if (code !== 0) throw new Error(`bench: svctl restart --rolling exited ${code}`);
  await svctl(scan, ['down'], owned);
  await until(() => owned.allGone(), 'the pool to stop', 30_000);
  return { ...counts, rollMs };
};
