// Services inherit nothing. A descriptor svrun or svctl got from whoever
// started it (a root shell's `exec 30</etc/shadow`) would otherwise reach every
// service, across the `user` drop: Node's spawn closes only what is marked
// close-on-exec, and leaves the rest open in the child. So each entry point
// marks every inherited descriptor above stderr close-on-exec before it does
// anything else; what it hands on itself (spawn's stdio) is unaffected.
import { closeSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const O_CLOEXEC = 0o2000000;
const F_SETFD = 2;
const FD_CLOEXEC = 1;

/** Is `fd` close-on-exec? (/proc's fdinfo shows the flag; a descriptor gone meanwhile counts as closed.) */
const closeOnExec = (fd: number): boolean => {
  try {
    const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1'));
    return flags === null || (parseInt(flags[1]!, 8) & O_CLOEXEC) !== 0;
  } catch {
    return true;
  }
};

/** Our descriptors above stderr that an exec would pass on. */
export const inheritableFds = (): number[] => {
  let entries: string[];
  try {
    entries = readdirSync('/proc/self/fd');
  } catch {
    return []; // no /proc: nothing to go by
  }
  return entries.map(Number).filter((fd) => Number.isInteger(fd) && fd > 2 && !closeOnExec(fd));
};

type Fcntl = (fd: number, cmd: number, ...args: unknown[]) => number;

/** fcntl through koffi, loaded only when needed (the common case has nothing to mark); null where unavailable. */
const loadFcntl = (): Fcntl | null => {
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    return koffi.load('libc.so.6').func('int fcntl(int fd, int cmd, ...)') as Fcntl;
  } catch {
    return null;
  }
};

/**
 * Marks every inherited descriptor above stderr close-on-exec. Without
 * koffi, closes them instead (nothing in svkit uses a descriptor it did
 * not open), except Node's own IPC channel. Returns the descriptors handled.
 */
export const keepDescriptorsToOurselves = (): number[] => {
  const fds = inheritableFds();
  if (fds.length === 0) return fds;
  const fcntl = loadFcntl();
  const ipc = Number(process.env.NODE_CHANNEL_FD ?? -1);
  for (const fd of fds) {
    if (fcntl && fcntl(fd, F_SETFD, 'int', FD_CLOEXEC) === 0) continue;
    if (fd === ipc) continue;
    try {
      closeSync(fd);
    } catch {
      /* gone already */
    }
  }
  return fds;
};
