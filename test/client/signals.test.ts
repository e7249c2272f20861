// The client library imports nothing of svkit's (a service loads only it),
// so it keeps its own copy of the down-signals: pinned here to src/signals.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DOWN_SIGNALS } from '../../src/signals.js';
const ROOT = join(import.meta.dirname, '../..');

describe('client: its copy of the down-signals', () => {
  it('is the list svrun accepts in down-signal (src/signals.ts)', () => {
    const text = readFileSync(join(ROOT, 'src/client/index.ts'), 'utf8');
    const m = /const DOWN_SIGNALS: readonly NodeJS\.Signals\[\] = \[([^\]]*)\];/.exec(text);
    expect(m, 'the client declares DOWN_SIGNALS as a literal list').not.toBeNull();
    const copy = [...m![1]!.matchAll(/'([A-Z0-9]+)'/g)].map((x) => x[1]);
    expect(copy).toEqual([...DOWN_SIGNALS]);
  });
});
