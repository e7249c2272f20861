// Looking a user up (src/os/identity.ts) goes through getent, a process:
// an unknown name is an invalid definition naming the file at fault. The
// numeric ids, checked without a lookup: test/errors.test.ts.
import { describe, expect, it } from 'vitest';
import { EXIT_INVALID } from '../../src/defaults.js';
import { resolveIdentity } from '../../src/os/identity.js';

describe('resolveIdentity', () => {
  it('resolveIdentity throws an invalid definition naming the file at fault', () => {
    let thrown: unknown;
    try {
      resolveIdentity('no-such-user-svkit', 'web/user');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ code: 'svkit.invalid', exitCode: EXIT_INVALID, lines: ['web/user: unknown user "no-such-user-svkit"'] });
  });
});
