// Zero downtime with real sockets and real clients: a Node HTTP server gets
// its listening socket from its supervisor (`listen`), and a client in this
// process opens a new connection every 5 ms. Across a SIGKILL of the
// service, `svctl restart`, `svctl reload` of a changed `run`, and a rolling
// restart of a 3-instance pool sharing one port, no connection is refused;
// across the graceful ones, none fails at all. `svctl down` closes the socket.
import { appendFileSync } from 'node:fs';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isAlive, type Sandbox, waitFor, withSandbox } from '../../helpers.js';
import { freePort, httpService, type Load, startLoad } from '../../sockets.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

/** The load runs until `n` more connections were answered (a few ms each): proof that traffic flowed meanwhile. */
const answeredMore = async (load: Load, n: number) => {
  const target = load.counts.answered + n;
  await waitFor(
    () => load.counts.answered >= target,
    `${n} more answered (${JSON.stringify({ ...load.counts, pids: [...load.counts.pids] })})`,
    15_000,
  );
};

/** A connection attempt to the port: 'open' or the error's code. */
const probe = (port: number): Promise<string> =>
  new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve('open');
    });
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });

const up = (name: string) => sb.waitStatus(name, (s) => s.state === 'up', 'up', 15_000);

/** `web` serving HTTP on a `listen` port, up, under a client's load that has had 20 answers. */
const serving = async () => {
  const port = await freePort();
  const dir = httpService(sb, 'web', [`127.0.0.1:${port}`]);
  expect((await sb.svctl(['up', 'web'])).code).toBe(0);
  const s0 = await up('web');
  const load = startLoad(port);
  await answeredMore(load, 20);
  return { port, dir, s0, load };
};

describe('listen: the socket outlives every restart of the service', () => {
  it('SIGKILL of the service: the supervisor restarts it, no connection refused, the new run serves', async () => {
    const { port, s0, load } = await serving();
    process.kill(s0.pid!, 'SIGKILL');
    await sb.waitStatus('web', (s) => s.state === 'up' && s.pid !== s0.pid, 'restarted after SIGKILL', 15_000);
    await answeredMore(load, 20);
    const c = await load.stop();
    // a connection the killed process had accepted but not answered dies with it (reset): only refusals count here
    expect(c.refused).toBe(0);
    expect(c.failed.every((f) => f === 'ECONNRESET')).toBe(true);
    expect(c.pids.size).toBe(2);
    expect(sb.status('web')!.supervisor!.pid).toBe(s0.supervisor!.pid);
    expect((await sb.svctl(['down', 'web'])).code).toBe(0);
    expect(await probe(port)).toBe('ECONNREFUSED');
  });

  it('svctl restart: the same supervisor restarts the service, its socket open throughout; nothing refused or failed', async () => {
    const { port, s0, load } = await serving();
    const r = await sb.svctl(['restart', 'web']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const s1 = sb.status('web')!;
    expect(s1.supervisor!.pid).toBe(s0.supervisor!.pid);
    expect(s1.pid).not.toBe(s0.pid);
    expect(isAlive(s0.pid)).toBe(false);
    await answeredMore(load, 20);
    const c = await load.stop();
    expect({ refused: c.refused, failed: c.failed }).toEqual({ refused: 0, failed: [] });
    expect(c.pids).toEqual(new Set([String(s0.pid), String(s1.pid)]));
    expect((await sb.svctl(['down', 'web'])).code).toBe(0);
    expect(await probe(port)).toBe('ECONNREFUSED');
  });

  it('svctl reload of a changed run: restarted under its supervisor, socket kept; nothing refused or failed', async () => {
    const { dir, s0, load } = await serving();
    appendFileSync(`${dir}/run`, '# changed\n');
    const r = await sb.svctl(['reload', 'web']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^web: reloaded: restarted for run, ready in (\d+ ms|\d+\.\d s)/m);
    const s1 = sb.status('web')!;
    expect(s1.supervisor!.pid).toBe(s0.supervisor!.pid);
    expect(s1.pid).not.toBe(s0.pid);
    expect(s1.reload).toMatchObject({ ok: true, live: [], restart: ['run'], restarted: true, error: null });
    await answeredMore(load, 20);
    const c = await load.stop();
    expect({ refused: c.refused, failed: c.failed }).toEqual({ refused: 0, failed: [] });
    expect(c.pids.size).toBe(2);
    expect((await sb.svctl(['down', 'web'])).code).toBe(0);
  });
});

describe('restart --rolling: a pool of 3 sharing one port', () => {
  it('one instance at a time, never fewer than 2 ready (sampled), nothing refused or failed, every instance a new run', async () => {
    const port = await freePort();
    httpService(sb, 'web@', [`127.0.0.1:${port}`]);
    expect((await sb.svctl(['up', 'web@1', 'web@2', 'web@3'])).code).toBe(0);
    const names = ['web@1', 'web@2', 'web@3'];
    const before = new Map(names.map((n) => [n, sb.status(n)!]));
    const load = startLoad(port);
    await answeredMore(load, 30);
    // every instance answers on the one port: the kernel spreads connections over their sockets
    expect(load.counts.pids.size).toBe(3);

    // a sample is the three states read twice in a row, kept when both reads agree: one read of three
    // files is not one moment (a member may come up and the next go down between two of its reads)
    let fewest = 3;
    let samples = 0;
    const states = () => names.map((n) => sb.status(n)?.state ?? 'unknown').join(' ');
    const sampler = setInterval(() => {
      const a = states();
      if (a !== states()) return;
      fewest = Math.min(fewest, a.split(' ').filter((st) => st === 'up').length);
      samples += 1;
    }, 5);
    const r = await sb.svctl(['restart', '--rolling', 'web@*']);
    clearInterval(sampler);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(fewest).toBe(2);
    expect(samples).toBeGreaterThan(10);

    const after = new Map(names.map((n) => [n, sb.status(n)!]));
    for (const n of names) {
      expect(after.get(n)!.pid).not.toBe(before.get(n)!.pid);
      expect(after.get(n)!.supervisor!.pid).toBe(before.get(n)!.supervisor!.pid);
    }
    // in order, by the supervisors' own clocks: each was stopped only once the one before was ready again
    const logged = (n: string, re: RegExp) =>
      Date.parse(
        sb
          .log(n)
          .split('\n')
          .filter((l) => re.test(l))
          .pop()!
          .split(' ')[0]!,
      );
    for (const [prev, next] of [
      ['web@1', 'web@2'],
      ['web@2', 'web@3'],
    ] as const) {
      expect(logged(next, / svrun stopping: SIGTERM$/), `${next} stopped after ${prev} was ready`).toBeGreaterThanOrEqual(
        logged(prev, / svrun ready$/),
      );
    }
    await answeredMore(load, 30);
    const c = await load.stop();
    expect({ refused: c.refused, failed: c.failed }).toEqual({ refused: 0, failed: [] });
    expect(c.pids.size).toBe(6);
    expect((await sb.svctl(['down', 'web@*'])).code).toBe(0);
    for (const n of names) expect(sb.status(n)!.supervisor === null || !isAlive(sb.status(n)!.supervisor!.pid)).toBe(true);
    expect(await probe(port)).toBe('ECONNREFUSED');
  });
});
