// libc through koffi, for the few calls a supervisor needs and Node does not
// offer (pipe2 for real pipes, fcntl to mark inherited descriptors, prctl and
// waitpid for an init). One loader: koffi is required on first use only, so
// what does not need it never loads it, and glibc's name is tried before
// musl's (Alpine images; koffi ships a build for both).
import { createRequire } from 'node:module';

export type Koffi = typeof import('koffi');
export type Library = ReturnType<Koffi['load']>;

export interface Libc {
  koffi: Koffi;
  lib: Library;
}

const MUSL_ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64' };
const LIBC_NAMES = ['libc.so.6', `libc.musl-${MUSL_ARCH[process.arch] ?? process.arch}.so.1`];

let loaded: Libc | null | undefined;
let why: string | null = null;

/** koffi and the C library, loaded once; null where either is unavailable (libcUnavailable says why). */
export const libc = (): Libc | null => {
  if (loaded !== undefined) return loaded;
  loaded = null;
  let koffi: Koffi;
  try {
    koffi = createRequire(import.meta.url)('koffi') as Koffi;
  } catch (err) {
    why = `koffi: ${(err as Error).message.split('\n')[0]}`;
    return null;
  }
  for (const name of LIBC_NAMES) {
    try {
      loaded = { koffi, lib: koffi.load(name) };
      return loaded;
    } catch (err) {
      why = `${name}: ${(err as Error).message.split('\n')[0]}`;
    }
  }
  return null;
};

/** Why libc() returned null, or null while it has not. */
export const libcUnavailable = (): string | null => why;

let errnoNames: Map<number, string> | null = null;

/** The name of the last error of a call through koffi (`EEXIST`), as Node names its own. */
export const lastErrno = (c: Libc): string => {
  errnoNames ??= new Map(Object.entries(c.koffi.os.errno as Record<string, number>).map(([k, v]) => [v, k]));
  const n = c.koffi.errno();
  return errnoNames.get(n) ?? `errno ${n}`;
};
