// The exit code of an svrun hosting several services (docs/svrun.md): the
// highest of those it supervised; when it supervised none, why. With one
// service, a lone svrun's code. Pure.
import { describe, expect, it } from 'vitest';
import { EXIT_FAILED, EXIT_INVALID, EXIT_LOCKED, EXIT_OK } from '../../src/defaults.js';
import { hostExitCode } from '../../src/supervisor/svrun.js';

const ran = (code: number) => ({ supervised: true, code });
const refused = (code: number) => ({ supervised: false, code });

describe('hostExitCode', () => {
  it.each([
    ['one stopped on request', [ran(EXIT_OK)], EXIT_OK],
    ['one locked', [refused(EXIT_LOCKED)], EXIT_LOCKED],
    ['one invalid', [refused(EXIT_INVALID)], EXIT_INVALID],
    ['one failed oneshot', [ran(EXIT_FAILED)], EXIT_FAILED],
    ['refusals beside a supervised service do not count', [refused(EXIT_INVALID), ran(EXIT_OK), refused(EXIT_LOCKED)], EXIT_OK],
    ['the highest of those supervised', [ran(EXIT_OK), ran(EXIT_FAILED), ran(EXIT_LOCKED)], EXIT_LOCKED],
    ['all already supervised', [refused(EXIT_LOCKED), refused(EXIT_LOCKED)], EXIT_LOCKED],
    ['refused for different reasons', [refused(EXIT_LOCKED), refused(EXIT_INVALID)], EXIT_INVALID],
  ])('%s', (_what, outcomes, want) => {
    expect(hostExitCode(outcomes)).toBe(want);
  });
});
