// SHA-1 for the one hash svkit takes: a cgroup's name (src/os/cgroup.ts).
// node:crypto would do it in one line, but loading it costs every svrun about
// 0.4 MiB of live heap (Node initialises the whole crypto module, webcrypto
// and key handling included) for ten hex digits of a path (measured:
// docs/performance.md); @noble/hashes' SHA-1 is a few hundred bytes of
// bundled JavaScript. The output is the standard SHA-1, so cgroup names stay
// what they were.
import { sha1 } from '@noble/hashes/legacy.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/** SHA-1 of the UTF-8 bytes of `text`, 40 lowercase hex digits. */
export const sha1Hex = (text: string): string => bytesToHex(sha1(utf8ToBytes(text)));
