// svrun in a real terminal (tmux): Ctrl-Z stops the service's processes and
// svrun together, `fg` continues both, Ctrl-C stops the service and exits.
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAlive, pidsByArgv0, procStat, Sandbox, SVRUN, waitFor } from '../helpers.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  if (hasTmux) spawnSync('tmux', ['-L', sb.token, 'kill-server']);
  await sb.cleanup();
});

describe.skipIf(!hasTmux)('svrun in a terminal (needs tmux)', () => {
  const tmux = (...args: string[]) => {
    const r = spawnSync('tmux', ['-L', sb.token, '-f', '/dev/null', ...args], { env: sb.env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const keys = (...k: string[]) => tmux('send-keys', '-t', 'sv', ...k);
  const state = (pid: number) => procStat(pid)?.state;

  it.each([
    ['one service', ['web']],
    ['a host of two (each line labelled with its service)', ['web', 'api']],
  ])('%s: Ctrl-Z stops svrun and its services, fg continues them, Ctrl-C stops everything', async (_what, names) => {
    const services = names.map((n) => ({
      n,
      m: sb.marker(n),
      g: sb.marker(`${n}-child`),
      dir: sb.service(n, `echo ${n}-hello; ${sb.marker(`${n}-child`)} 1000 & exec ${sb.marker(n)} 1000`),
    }));
    tmux('new-session', '-d', '-s', 'sv', '-x', '160', '-y', '40', 'bash --norc --noprofile');
    keys(`exec 2>&1; ${process.execPath} ${SVRUN} ${services.map((s) => s.dir).join(' ')}`, 'Enter');
    const pids: number[] = [];
    let sv = 0;
    for (const s of services) {
      const st = await sb.waitRunning(s.n, s.m, 10_000);
      sv = st.supervisor!.pid;
      const [child] = await waitFor(() => (pidsByArgv0(s.g).length === 1 ? pidsByArgv0(s.g) : null), 'the child');
      pids.push(st.pid!, child!);
    }
    const all = () => [sv, ...pids].map(state).join(' ');
    if (names.length > 1) {
      for (const n of names)
        await waitFor(
          () => new RegExp(`^${n} \\| \\S+ out ${n}-hello$`, 'm').test(tmux('capture-pane', '-p', '-t', 'sv')),
          `${n}'s line labelled on the terminal`,
        );
    }

    keys('C-z');
    await waitFor(
      () => [sv, ...pids].every((p) => state(p) === 'T'),
      () => `all stopped: ${all()}`,
    );
    await waitFor(() => /Stopped/.test(tmux('capture-pane', '-p', '-t', 'sv')), 'the shell to report the stopped job');

    keys('fg', 'Enter');
    await waitFor(
      () => [sv, ...pids].every((p) => state(p) === 'S'),
      () => `all running: ${all()}`,
    );
    for (const [i, s] of services.entries()) expect(sb.status(s.n)!.pid).toBe(pids[2 * i]); // nothing restarted

    keys('C-c');
    await waitFor(() => !isAlive(sv), 'svrun to exit on Ctrl-C');
    for (const p of pids) expect(isAlive(p)).toBe(false);
    for (const s of services) expect(sb.status(s.n)).toMatchObject({ state: 'down', pid: null });
  });
});
