// The JavaScript SHA-1 behind cgroup names (src/os/sha1.ts) is the standard
// one: equal to node:crypto's for the known vectors, every padding boundary
// and any string (so no service's cgroup name changes with it).
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha1Hex } from '../../src/os/sha1.js';

const nodeSha1 = (s: string) => createHash('sha1').update(s).digest('hex');

describe('sha1Hex', () => {
  it('gives the published digests', () => {
    expect(sha1Hex('')).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709');
    expect(sha1Hex('abc')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect(sha1Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe('84983e441c3bd26ebaae4aa1f95129e5e54670f1');
  });

  it('equals node:crypto at every length around the 64-byte block and its 9 bytes of padding', () => {
    for (let n = 0; n <= 200; n++) expect(sha1Hex('x'.repeat(n)), `length ${n}`).toBe(nodeSha1('x'.repeat(n)));
  });

  it('equals node:crypto for any string, multi-byte UTF-8 included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (s) => sha1Hex(s) === nodeSha1(s)),
      { numRuns: 500 },
    );
  });
});
