// SHA-1 in plain JavaScript, for the one hash svkit takes: a cgroup's name
// (src/os/cgroup.ts). node:crypto would do it in one line, but loading it
// costs every svrun about 0.4 MiB of live heap (Node initialises the whole
// crypto module, webcrypto and key handling included) and start-up time,
// for ten hex digits of a path (measured: docs/notes-perf-mem.md). The
// output is the standard SHA-1, so cgroup names stay what they were.

const rotl = (x: number, n: number): number => (x << n) | (x >>> (32 - n));

/** SHA-1 of the UTF-8 bytes of `text`, 40 lowercase hex digits. */
export const sha1Hex = (text: string): string => {
  const data = Buffer.from(text, 'utf8');
  // the message, a 1 bit, zeros, and its length in bits (64-bit big-endian) fill whole 64-byte blocks
  const blocks = Buffer.alloc(Math.ceil((data.length + 9) / 64) * 64);
  data.copy(blocks);
  blocks[data.length] = 0x80;
  blocks.writeUInt32BE(Math.floor(data.length / 2 ** 29), blocks.length - 8);
  blocks.writeUInt32BE((data.length * 8) >>> 0, blocks.length - 4);
  const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
  const w = new Uint32Array(80);
  for (let off = 0; off < blocks.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = blocks.readUInt32BE(off + i * 4);
    for (let i = 16; i < 80; i++) w[i] = rotl(w[i - 3]! ^ w[i - 8]! ^ w[i - 14]! ^ w[i - 16]!, 1);
    let [a, b, c, d, e] = h as [number, number, number, number, number];
    for (let i = 0; i < 80; i++) {
      const f = i < 20 ? (b & c) | (~b & d) : i < 40 || i >= 60 ? b ^ c ^ d : (b & c) | (b & d) | (c & d);
      const k = i < 20 ? 0x5a827999 : i < 40 ? 0x6ed9eba1 : i < 60 ? 0x8f1bbcdc : 0xca62c1d6;
      const t = (rotl(a, 5) + f + e + k + w[i]!) >>> 0;
      e = d;
      d = c;
      c = rotl(b, 30) >>> 0;
      b = a;
      a = t;
    }
    h[0] = (h[0]! + a) >>> 0;
    h[1] = (h[1]! + b) >>> 0;
    h[2] = (h[2]! + c) >>> 0;
    h[3] = (h[3]! + d) >>> 0;
    h[4] = (h[4]! + e) >>> 0;
  }
  return h.map((x) => x.toString(16).padStart(8, '0')).join('');
};
