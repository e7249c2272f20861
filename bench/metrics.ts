// svctl metrics --listen under a burst of scrapes (issue 22's flood): how
// many of 1,000 concurrent scrapes of 200 services are answered, how fast,
// and what the burst costs the endpoint in CPU (one computed text serves
// every scrape while it is fresh; past 256 connections new ones are refused).
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { cpuMs, type Owned } from './proc.js';
import { SVCTL, sleep, until, writeScan } from './peers.js';

export interface BurstFigures {
  scrapes: number;
  answered: number;
  wallMs: number;
  burstCpuMs: number;
  oneScrapeCpuMs: number;
}

const scrape = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', agent: false, timeout: 20_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });

export const metricsBurst = async (scan: string, owned: Owned, services = 200, scrapes = 1000): Promise<BurstFigures> => {
  writeScan(scan, services);
  const errFile = join(scan, '..', 'metrics.err');
  const fe = openSync(errFile, 'w');
  const srv = spawn(process.execPath, [SVCTL, '-d', scan, 'metrics', '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', fe] });
  closeSync(fe);
  owned.add(srv.pid);
  const port = Number(
    await until(() => /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(readFileSync(errFile, 'utf8'))?.[1], 'the metrics endpoint'),
  );
  const c0 = cpuMs(srv.pid!);
  await scrape(port);
  const oneScrapeCpuMs = cpuMs(srv.pid!) - c0;
  await sleep(1500); // past the first text's freshness: the burst computes its own
  const c1 = cpuMs(srv.pid!);
  const t0 = performance.now();
  const ok = await Promise.all(Array.from({ length: scrapes }, () => scrape(port)));
  const wallMs = performance.now() - t0;
  const burstCpuMs = cpuMs(srv.pid!) - c1;
  srv.kill('SIGTERM');
  await until(() => srv.exitCode !== null || srv.signalCode !== null, 'the metrics endpoint to exit');
  return { scrapes, answered: ok.filter(Boolean).length, wallMs, burstCpuMs, oneScrapeCpuMs };
};
