// svctl's action wrapper, in process: what a command throws as an SvError is
// printed through its context, one line per problem, and becomes the exit
// code; anything else is left to the entry point.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_OK, EXIT_USAGE } from '../../src/defaults.js';
import { SvError } from '../../src/errors.js';
import { runCommand } from '../../src/svctl/cli.js';
import { makeCtx } from '../../src/svctl/context.js';
import { cmdStatus } from '../../src/svctl/commands/status.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The context's lines as printed (errors with their `svctl: ` prefix), one array entry per line. */
const captured = (dir: string) => {
  const out: string[] = [];
  const err: string[] = [];
  const lines = (to: string[]) => (text: string) => to.push(...text.replace(/\n$/, '').split('\n'));
  return { out, err, ctx: makeCtx({ dir }, { stdout: lines(out), stderr: lines(err) }) };
};

describe('runCommand', () => {
  it("prints an SvError's lines through the context and returns its exit code", async () => {
    const c = captured('/nowhere');
    const code = await runCommand(c.ctx, () => {
      throw new SvError('svkit.usage', 7, ['a: one', 'b: two']);
    });
    expect(code).toBe(7);
    expect(c.err).toEqual(['svctl: a: one', 'svctl: b: two']);
  });

  it('leaves anything else to the entry point', async () => {
    const c = captured('/nowhere');
    await expect(runCommand(c.ctx, () => Promise.reject(new TypeError('bug')))).rejects.toThrow(TypeError);
    expect(c.err).toEqual([]);
  });

  it('status: every unknown name at once, exit 2; a known one prints its table', async () => {
    const scan = mkdtempSync(join(tmpdir(), 'svkit-runcommand-'));
    dirs.push(scan);
    const c = captured(scan);
    expect(await runCommand(c.ctx, (ctx) => cmdStatus(ctx, ['ghost', 'spook']))).toBe(EXIT_USAGE);
    expect(c.err).toEqual([`svctl: ghost: no such service in ${scan}`, `svctl: spook: no such service in ${scan}`]);
    expect(c.out).toEqual([]);
    const ok = captured(scan);
    expect(await runCommand(ok.ctx, (ctx) => cmdStatus(ctx, []))).toBe(EXIT_OK);
    expect(ok.out[0]).toMatch(/^NAME\s+STATE/);
  });
});
