// svctl's progress and colours as a user sees them, with real svrun
// supervisors: under a pseudo-terminal (util-linux `script`, which gives
// svctl a TTY and records what it wrote to it), and without one (files, as
// a script or a CI log gets it); --quiet; NO_COLOR; Ctrl-C during a slow
// `up`; a backoff said aloud; and `restart` starting a service in backoff
// at once. The rendering itself is table-tested in progress.test.ts.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exitStatus } from '../../../src/signals.js';
import { inBothModes, reportFigures, type Run, type Sandbox, startSvctl, SVCTL, withSandbox } from '../../helpers.js';

/** Deadline for events that involve starting node processes on a busy machine. */
const SLOW = 15_000;

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const ESC = '\x1b[';

/** The sandbox's environment, no colour setting inherited from the test runner, `extra` over it. */
const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = { ...sb.env, TERM: 'xterm', ...extra };
  for (const k of ['NO_COLOR', 'FORCE_COLOR', 'CI'] as const) if (!(k in extra)) delete e[k];
  return e;
};

/** Runs `cmd args` to completion with `environment`, output to files (as Sandbox.exec). */
const run = async (cmd: string, args: string[], environment: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<Run> => {
  const out = sb.path(`.out.${Math.random().toString(16).slice(2)}`);
  const err = `${out}.err`;
  const fo = openSync(out, 'w');
  const fe = openSync(err, 'w');
  const child = spawn(cmd, args, { env: environment, stdio: ['ignore', fo, fe], cwd: sb.dir });
  closeSync(fo);
  closeSync(fe);
  const code = await new Promise<number>((res) => {
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (c, s) => {
      clearTimeout(t);
      res(exitStatus(c, s));
    });
  });
  return { code, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
};

/** svctl on a pseudo-terminal: `script` records everything svctl wrote to it (stdout and stderr alike); -e: svctl's exit code. */
const onTerminal = (args: string[], extra: NodeJS.ProcessEnv = {}): Promise<Run> => {
  const line = [process.execPath, SVCTL, ...args].map((a) => `'${a}'`).join(' ');
  return run('script', ['-qfec', line, '/dev/null'], env(extra));
};

/** svctl with stdout and stderr on files: no terminal. */
const plain = (args: string[], extra: NodeJS.ProcessEnv = {}): Promise<Run> => run(process.execPath, [SVCTL, ...args], env(extra));

/** db ready (fd 3) once the file `gate` exists (after `waitMs` otherwise 0); web requires db and is up as soon as it runs. */
const dbAndWeb = (gate?: string) => {
  sb.service(
    'db',
    [gate ? `while [ ! -e ${sb.path(gate)} ]; do sleep 0.02; done` : '', 'echo >&3', `exec ${sb.marker('db')} 1000`].join('\n'),
    {
      'notification-fd': '3',
      'timeout-kill': '300',
    },
  );
  sb.service('web', `exec ${sb.marker('web')} 1000`, { requires: 'db', 'timeout-kill': '300' });
};

/** What a terminal shows at the end: the text after the last redraw (cursor-up), colours and line erasing removed. */
const screenEnd = (tty: string): string[] => {
  const last = tty.split(/\x1b\[\d+A/).at(-1)!;
  return last
    .replace(/\r\n/g, '\n')
    .replace(/\r?\x1b\[2K/g, '')
    .replace(/\x1b\[\d+m/g, '')
    .split('\n')
    .filter(Boolean);
};

inBothModes(
  () => sb,
  () => {
    describe('svctl up and down on a terminal', () => {
      it('one line per service, redrawn in place as it goes, then a summary', async () => {
        dbAndWeb();
        const up = await onTerminal(['up']);
        expect(up.code).toBe(0);
        // redrawn in place: the cursor moves up over the frame it drew, more than once
        expect(up.stdout.match(/\x1b\[2A/g)?.length ?? 0).toBeGreaterThan(1);
        expect(up.stdout).toMatch(/web +waiting for db/); // web waited for db, and said so
        expect(screenEnd(up.stdout)).toEqual([
          expect.stringMatching(/^db {3}ready in \d+(\.\d)? m?s$/),
          expect.stringMatching(/^web {2}ready in \d+(\.\d)? m?s$/),
          expect.stringMatching(/^2 up in \d+(\.\d)? m?s$/),
        ]);
        expect(up.stdout).toContain(`${ESC}32mready in`); // green on a terminal

        const down = await onTerminal(['down']);
        expect(down.code).toBe(0);
        expect(screenEnd(down.stdout)).toEqual([
          expect.stringMatching(/^web {2}down in \d+(\.\d)? m?s$/),
          expect.stringMatching(/^db {3}down in \d+(\.\d)? m?s$/),
          expect.stringMatching(/^2 down in \d+(\.\d)? m?s$/),
        ]);
      });

      it("a failure is the service's line, the summary counts it, and the full error line follows", async () => {
        sb.service('db', 'echo cannot open /var/lib/db >&2; exit 3', { restart: 'never', 'notification-fd': '3' });
        sb.service('web', `exec ${sb.marker('web')} 1000`, { requires: 'db' });
        const up = await onTerminal(['up']);
        expect(up.code).toBe(1);
        const end = screenEnd(up.stdout);
        expect(end.slice(0, 3)).toEqual([
          expect.stringMatching(/^db {3}failed \(exited 3\)/),
          'web  not started: db failed',
          expect.stringMatching(/^1 failed, 1 not started in \d/),
        ]);
        // in full, as without a terminal (the last output is there once svrun's logger has written it: not asserted)
        expect(end.slice(3)).toEqual([
          expect.stringMatching(/^svctl: db: failed \(exited 3\)/),
          'svctl: web: not started because db failed',
        ]);
      });
    });

    describe('svctl without a terminal', () => {
      it('plain lines on stdout, one per service ready or down, no escape code, nothing on stderr', async () => {
        dbAndWeb();
        const up = await plain(['up']);
        expect(up).toMatchObject({ code: 0, stderr: '' });
        expect(up.stdout).toMatch(/^db: ready in \d+(\.\d)? m?s\nweb: ready in \d+(\.\d)? m?s\n$/);
        expect(await plain(['up'])).toEqual({ code: 0, stdout: '', stderr: '' }); // nothing to do, nothing said
        const down = await plain(['down']);
        expect(down).toMatchObject({ code: 0, stderr: '' });
        expect(down.stdout).toMatch(/^web: down in \d+(\.\d)? m?s\ndb: down in \d+(\.\d)? m?s\n$/);
        expect(up.stdout + down.stdout).not.toContain('\x1b');
      });

      it('-q and --quiet print errors only', async () => {
        dbAndWeb();
        expect(await plain(['up', '-q'])).toEqual({ code: 0, stdout: '', stderr: '' });
        expect(await onTerminal(['--quiet', 'restart', 'db'])).toEqual({ code: 0, stdout: '', stderr: '' });
        expect(await plain(['down', '--quiet'])).toEqual({ code: 0, stdout: '', stderr: '' });
        sb.service('bad', 'exit 3', { restart: 'never', 'notification-fd': '3' });
        const r = await plain(['up', '-q', 'bad']);
        expect(r).toEqual({ code: 1, stdout: '', stderr: 'svctl: bad: failed (exited 3)\n' });
      });
    });

    describe('status colours', () => {
      it('states coloured on a terminal; none with NO_COLOR or without a terminal; READY says how readiness was known', async () => {
        dbAndWeb();
        expect((await plain(['up', '-q'])).code).toBe(0);
        const tty = await onTerminal(['status', 'db', 'web']);
        expect(tty.stdout).toMatch(new RegExp(`^db +${ESC.replace('[', '\\[')}32mup${ESC.replace('[', '\\[')}39m +\\d+ `, 'm'));
        for (const r of [await onTerminal(['status'], { NO_COLOR: '1' }), await plain(['status'])]) {
          expect(r.code).toBe(0);
          expect(r.stdout).not.toContain('\x1b');
          expect(r.stdout).toMatch(/^db +up +\d+ .* ready \(checked\) /m); // notification-fd
          expect(r.stdout).toMatch(/^web +up +\d+ .* running \(unchecked\) /m); // neither check nor notification-fd
        }
        expect(JSON.parse((await plain(['status', '--json', 'db'])).stdout)[0].settings.readiness).toBe('notification-fd');
      });
    });

    describe('Ctrl-C during up', () => {
      it('says what was left in which state, exits 130, and svctl down stops it', async () => {
        dbAndWeb('go');
        const up = startSvctl(sb, ['up']);
        await sb.waitStatus('db', (s) => s.state === 'starting', 'db starting', SLOW);
        up.child.kill('SIGINT');
        const r = await up.done;
        expect(r).toEqual({
          code: 130,
          stdout: '',
          stderr: 'svctl: interrupted: db starting, web waiting (left running; svctl down to stop)\n',
        });
        expect(sb.status('db')?.state).toBe('starting'); // left running, as it says
        writeFileSync(sb.path('go'), '');
        expect((await plain(['down', '-q'])).code).toBe(0);
        expect(sb.status('db')?.state).toBe('down');
      });
    });

    describe('a service in backoff', () => {
      it('up says so while it waits; restart starts it at once, well within the backoff it replaced', async () => {
        // fails until the file `fixed` exists: a crash loop whose backoff doubles
        sb.service('web', `[ -e ${sb.path('fixed')} ] || exit 1\necho >&3\nexec ${sb.marker('web')} 1000`, {
          'timeout-kill': '300',
          'notification-fd': '3',
        });
        expect((await plain(['up', '-q', '-t', '300', 'web'])).code).toBe(1); // leaves its supervisor crash-looping
        await sb.waitStatus('web', (s) => s.state === 'backoff', 'a first backoff', SLOW);

        // up waits for it (each backoff said once), and gives up at -t
        const up = await plain(['up', '-t', '1500', 'web']);
        expect(up.code).toBe(1);
        const said = up.stdout.split('\n').filter(Boolean);
        expect(said.length).toBeGreaterThan(0);
        for (const line of said) expect(line).toMatch(/^web: in backoff after \d+ restarts \(exited 1\), next start in \d+(\.\d)? m?s$/);
        expect(up.stderr).toMatch(/^svctl: web: not ready after \d+ ms \(state (backoff|starting)\)/);

        // a backoff longer than svctl and svrun take to start on a loaded machine (the 6.4 s one)
        const now = await sb.waitStatus(
          'web',
          (s) => s.state === 'backoff' && s.nextStartAt !== null && Date.parse(s.nextStartAt) - Date.now() >= 5000,
          'a backoff of 5 s or more',
          20_000,
        );
        writeFileSync(sb.path('fixed'), ''); // the config is fixed: an explicit restart does not wait out the backoff
        const due = Date.parse(now.nextStartAt!);
        const asked = Date.now();
        const restart = await plain(['restart', 'web']);
        expect(restart).toMatchObject({ code: 0, stderr: '' });
        expect(restart.stdout).toMatch(/^web: down in \d+(\.\d)? m?s\nweb: ready in \d+(\.\d)? m?s\n$/);
        const after = sb.status('web')!;
        expect(after).toMatchObject({ state: 'up', restarts: 0 }); // a new supervisor: a fresh backoff sequence
        expect(after.supervisor!.pid).not.toBe(now.supervisor!.pid);
        // semantic bound: the new supervisor started the service well within the backoff it replaced
        // (counted from the supervisor's start: svctl's and svrun's own start-up on a loaded machine are not the backoff)
        const waited = Date.parse(after.startedAt!) - Date.parse(after.supervisor!.startedAt);
        expect(waited).toBeLessThan(due - asked);
        expect(Date.parse(after.startedAt!)).toBeGreaterThanOrEqual(asked - 5);
        // from the request to the new run: reported, not asserted (on a loaded machine svctl's and svrun's start-up alone can exceed the backoff left)
        reportFigures(sb, 'restart-in-backoff', {
          requestToNewRunMs: Date.parse(after.startedAt!) - asked,
          backoffLeftMs: due - asked,
          supervisorToRunMs: waited,
        });
      }, 60_000);
    });
  },
);
