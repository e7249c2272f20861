// svctl metrics --listen under load that once starved it: clients that
// send their headers a line at a time and never finish (more of them than
// the endpoint holds connections) must not keep a real scrape out, and a
// burst of concurrent scrapes is answered in full from one computed text,
// at a cost close to one scrape's, not hundreds.
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { METRICS_HEADERS_GRACE_MS, METRICS_MAX_CONNECTIONS } from '../../../src/defaults.js';
import { cpuMs, reportFigures, type Sandbox, startSvctl, waitFor, withSandbox } from '../../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

/** Service folders that are never started: the scrape reads each one's folder, as for a stopped service. */
const folders = (n: number) => {
  for (let i = 1; i <= n; i++) sb.service(`s${i}`, 'exec sleep 1000');
};

const serve = async () => {
  const bg = startSvctl(sb, ['metrics', '--listen', '127.0.0.1:0']);
  const port = Number(
    await waitFor(
      () => /listening on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(bg.stderr())?.[1],
      () => `the listening line: ${bg.stderr()}`,
      10_000,
    ),
  );
  return { ...bg, port };
};

/** One scrape on a connection of its own: status and body, or the error that ended it. */
const scrape = (port: number, ms = 10_000): Promise<{ status: number; body: string } | { error: string }> =>
  new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', agent: false, timeout: ms }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (err) => resolve({ error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => resolve({ error: err.message }));
    req.end();
  });

describe('svctl metrics --listen under load', { timeout: 90_000 }, () => {
  it(`clients sending slow headers (more than its ${METRICS_MAX_CONNECTIONS} connections) do not keep real scrapes out`, async () => {
    folders(3);
    const srv = await serve();
    const slow: Socket[] = [];
    const trickle = setInterval(() => {
      for (const s of slow) if (!s.destroyed) s.write('X-Slow: 1\r\n');
    }, 300);
    try {
      const connected = await Promise.all(
        Array.from(
          { length: METRICS_MAX_CONNECTIONS + 50 },
          () =>
            new Promise<boolean>((resolve) => {
              const s = connect(srv.port, '127.0.0.1', () => {
                s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
                resolve(true);
              });
              s.on('error', () => resolve(false));
              slow.push(s);
            }),
        ),
      );
      expect(connected.filter(Boolean).length).toBeGreaterThan(METRICS_MAX_CONNECTIONS);
      // past the grace a new connection has for its request, they are the ones that give way
      const since = Date.now();
      await waitFor(() => Date.now() - since > METRICS_HEADERS_GRACE_MS, 'the slow clients to be past their grace');
      for (let i = 0; i < 5; i++) {
        const r = await scrape(srv.port, 5000);
        expect(r, `scrape ${i + 1}`).toMatchObject({ status: 200 });
        expect((r as { body: string }).body).toContain('svkit_up{service="s1"} 0');
      }
    } finally {
      clearInterval(trickle);
      for (const s of slow) s.destroy();
    }
    srv.child.kill('SIGTERM');
    expect((await srv.done).code).toBe(0);
  });

  it('a burst of 200 concurrent scrapes is answered in full from one computed text', async () => {
    folders(300);
    const srv = await serve();
    const pid = srv.child.pid!;
    // the first scrape: what one computation costs (a cold one, so a generous measure)
    const c0 = cpuMs(pid)!;
    expect(await scrape(srv.port)).toMatchObject({ status: 200 });
    const one = cpuMs(pid)! - c0;
    // a snapshot lives at least a second: the burst begins with a computation of its own
    const since = Date.now();
    await waitFor(() => Date.now() - since > 1100, 'the first text to be old');
    const c1 = cpuMs(pid)!;
    const t1 = Date.now();
    const results = await Promise.all(Array.from({ length: 200 }, () => scrape(srv.port, 30_000)));
    const wall = Date.now() - t1;
    const burst = cpuMs(pid)! - c1;
    const failed = results.filter((r) => !('status' in r) || r.status !== 200);
    expect(failed).toEqual([]);
    const bodies = new Set(results.map((r) => (r as { body: string }).body));
    reportFigures(sb, 'metrics-burst', {
      services: 300,
      scrapes: 200,
      firstScrapeCpuMs: one,
      burstCpuMs: burst,
      burstWallMs: wall,
      distinctTexts: bodies.size,
    });
    // 200 computations would cost 200 times one; shared, the burst costs the sending of 200 answers and a few computations
    expect(burst).toBeLessThan(Math.max(one, 100) * 20);
    srv.child.kill('SIGTERM');
    expect((await srv.done).code).toBe(0);
  });
});
