// svctl completion bash|zsh: the script the binary prints, loaded into a real
// bash and asked what Tab completes (COMP_WORDS/COMP_CWORD, as bash sets them),
// with service names read from the scan directory at that moment.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../../src/svctl/cli.js';
import { type Sandbox, withSandbox } from '../../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const COMMANDS = buildProgram(() => {}).commands.map((c) => c.name());

/** What the completion function offers for the words of `line` (the last one being completed; '' after a space). */
const complete = (script: string, words: string[], env: NodeJS.ProcessEnv = {}): string[] => {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: bash's ${...}, not a template
  const fn = 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _svctl; printf "%s\\n" "${COMPREPLY[@]}"';
  const r = spawnSync('bash', ['-c', fn, 'bash', script, ...words], {
    encoding: 'utf8',
    cwd: sb.dir,
    env: { ...sb.env, ...env },
    timeout: 10_000,
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.split('\n').filter(Boolean).sort();
};

describe('svctl completion', () => {
  it("bash: commands by prefix, options per command, the scan directory's services when Tab is pressed (not templates)", async () => {
    const r = await sb.svctl(['completion', 'bash']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const script = sb.path('svctl.bash');
    writeFileSync(script, r.stdout);

    // every command of commander's table, and help
    expect(complete(script, ['svctl', ''])).toEqual([...COMMANDS, 'help'].sort());
    expect(complete(script, ['svctl', 're'])).toEqual(['reload', 'remove', 'restart']);
    expect(complete(script, ['svctl', 'restart', '--no'])).toEqual(['--no-deps']);
    expect(complete(script, ['svctl', 'signal', 'HU'])).toEqual(['HUP']);
    expect(complete(script, ['svctl', 'wait', ''])).toEqual(['down', 'failed', 'up']);

    // services are read now, not when the script was made
    sb.service('web', 'exec sleep 1000');
    sb.service('worker@', 'exec sleep 1000');
    mkdirSync(join(sb.scan, 'worker@1'));
    mkdirSync(join(sb.scan, '.hidden'));
    expect(complete(script, ['svctl', 'restart', 'w'])).toEqual(['web', 'worker@1']); // $SVDIR
    const other = sb.path('other');
    mkdirSync(join(other, 'api'), { recursive: true });
    expect(complete(script, ['svctl', '-d', other, 'logs', '-n', '5', ''])).toEqual(['api']);
    expect(complete(script, ['svctl', 'signal', 'TERM', '--dir', other, ''])).toEqual(['api']);
    expect(complete(script, ['svctl', 'signal', 'TERM', 'w'])).toEqual(['web', 'worker@1']);
  });

  const hasZsh = spawnSync('zsh', ['-c', 'true']).status === 0;
  it.runIf(hasZsh)(
    'zsh: the script parses (zsh -n) and completes commands, services and states (skipped where zsh is not installed)',
    async () => {
      const r = await sb.svctl(['completion', 'zsh']);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      const script = sb.path('_svctl');
      writeFileSync(script, r.stdout);
      const n = spawnSync('zsh', ['-n', script], { encoding: 'utf8' });
      expect(n.stderr).toBe('');
      expect(n.status).toBe(0);
      // and run: words/CURRENT as zsh's completion system sets them, compadd replaced by a printer
      sb.service('web', 'exec sleep 1000');
      const zcomplete = (...words: string[]) => {
        const fn = 'source "$1"; shift; compadd() { [[ $1 == -- ]] && shift; print -l -- "$@"; }; words=("$@"); CURRENT=$#; _svctl';
        const r = spawnSync('zsh', ['-f', '-c', fn, 'zsh', script, ...words], {
          encoding: 'utf8',
          cwd: sb.dir,
          env: sb.env,
          timeout: 10_000,
        });
        expect(r.stderr).toBe('');
        return r.stdout.split('\n').filter(Boolean).sort();
      };
      expect(zcomplete('svctl', '')).toEqual([...COMMANDS, 'help'].sort());
      expect(zcomplete('svctl', 'restart', '')).toEqual(['web']);
      expect(zcomplete('svctl', 'wait', '')).toEqual(['down', 'failed', 'up']);
    },
  );

  it('zsh: names every command of the table; another shell is a usage error', async () => {
    const z = await sb.svctl(['completion', 'zsh']);
    expect(z.code).toBe(0);
    for (const c of COMMANDS) expect(z.stdout).toMatch(new RegExp(`^ +\\(${c}\\) opts=`, 'm'));
    const fish = await sb.svctl(['completion', 'fish']);
    expect(fish).toMatchObject({ code: 2, stdout: '', stderr: 'svctl: completion: expected bash or zsh, got "fish"\n' });
  });
});
