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

  it('Ctrl-Z stops svrun and its service, fg continues both, Ctrl-C stops everything', async () => {
    const m = sb.marker('web');
    const g = sb.marker('child');
    const dir = sb.service('web', `${g} 1000 & exec ${m} 1000`);
    tmux('new-session', '-d', '-s', 'sv', '-x', '160', '-y', '40', 'bash --norc --noprofile');
    keys(`exec 2>&1; ${process.execPath} ${SVRUN} ${dir}`, 'Enter');
    const st = await sb.waitRunning('web', m, 10_000);
    const sv = st.supervisor!.pid;
    const [child] = await waitFor(() => (pidsByArgv0(g).length === 1 ? pidsByArgv0(g) : null), 'the child');

    keys('C-z');
    await waitFor(() => state(sv) === 'T' && state(st.pid!) === 'T' && state(child!) === 'T', () => `all stopped: ${state(sv)} ${state(st.pid!)} ${state(child!)}`);
    await waitFor(() => /Stopped/.test(tmux('capture-pane', '-p', '-t', 'sv')), 'the shell to report the stopped job');

    keys('fg', 'Enter');
    await waitFor(() => [sv, st.pid!, child!].every((p) => state(p) === 'S'), () => `all running: ${state(sv)} ${state(st.pid!)} ${state(child!)}`);
    expect(sb.status('web')!.pid).toBe(st.pid); // nothing restarted

    keys('C-c');
    await waitFor(() => !isAlive(sv), 'svrun to exit on Ctrl-C');
    expect(isAlive(st.pid)).toBe(false);
    expect(pidsByArgv0(g)).toEqual([]);
    expect(sb.status('web')).toMatchObject({ state: 'down', pid: null });
  });
});
