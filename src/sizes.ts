// Sizes as settings give them, one parser for all (memory-max, log/config's
// size): bytes, or a whole number with K, M or G, powers of 1024, as
// systemd's MemoryMax= and the kernel's own notation write them.

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** `4096`, `64K`, `1M`, `2G` in bytes; null for anything else (a fraction, another letter, a lowercase one, a size past 2^53). */
export const parseSize = (v: string): number | null => {
  const m = /^(\d{1,16})([KMG]?)$/.exec(v);
  if (!m) return null;
  const bytes = Number(m[1]) * UNITS[m[2]!]!;
  return bytes <= Number.MAX_SAFE_INTEGER ? bytes : null;
};
