// A service's listening sockets (`listen`), held by its supervisor for as
// long as it supervises: bound before the first start, handed to every run
// of `run` as fds 3, 4, ... with systemd's LISTEN_FDS, LISTEN_PID and
// LISTEN_FDNAMES, and never closed by a restart, so connections that arrive
// meanwhile wait in the backlog for the next run. Closed when supervision
// ends. A reload that changes `listen` keeps the addresses still listed,
// binds the new ones and closes the others.
import { errorText } from '../errors.js';
import { addressKey, type ListenAddress } from '../listen.js';
import { bindListener, closeListener, socketInode } from '../os/sockets.js';

interface Held {
  address: ListenAddress;
  fd: number;
  /** A unix socket's inode once bound: teardown removes that file only. */
  ino: number | null;
}

export class ListenSockets {
  private readonly held = new Map<string, Held>();
  private wanted: ListenAddress[];

  /**
   * `reusePort`: the addresses are shared with other supervisors (a
   * template's instances): SO_REUSEPORT, and the kernel spreads connections.
   */
  constructor(
    addresses: readonly ListenAddress[],
    private readonly reusePort: boolean,
    /** The service's name: each fd's name in LISTEN_FDNAMES (systemd names them after their socket unit). */
    private readonly name: string,
  ) {
    this.wanted = [...addresses];
  }

  get count(): number {
    return this.wanted.length;
  }

  /** Every address bound? */
  get complete(): boolean {
    return this.wanted.every((a) => this.held.has(addressKey(a)));
  }

  /**
   * Binds what is not bound yet; throws one line (`listen: ADDRESS: why`) for
   * the first that fails: those bound stay, the rest are tried again at the
   * next call (a start retried with backoff).
   */
  bind(): void {
    for (const a of this.wanted) {
      const key = addressKey(a);
      if (this.held.has(key)) continue;
      let fd: number;
      try {
        fd = bindListener(a, { reusePort: this.reusePort });
      } catch (err) {
        throw new Error(`listen: ${a.text}: ${errorText(err)}`);
      }
      this.held.set(key, { address: a, fd, ino: a.kind === 'unix' ? socketInode(a.path) : null });
    }
  }

  /** The descriptors in `listen`'s order (fds 3, 4, ... of the run); only once complete. */
  fds(): number[] {
    return this.wanted.map((a) => this.held.get(addressKey(a))!.fd);
  }

  /** What `run` gets besides the descriptors: LISTEN_FDS and LISTEN_FDNAMES (LISTEN_PID is set as it starts). */
  env(): Record<string, string> {
    if (this.wanted.length === 0) return {};
    return { LISTEN_FDS: String(this.wanted.length), LISTEN_FDNAMES: this.wanted.map(() => this.name).join(':') };
  }

  /** The addresses change (a reload): those still listed are kept, the others closed; new ones are bound by the next bind(). */
  update(addresses: readonly ListenAddress[]): void {
    this.wanted = [...addresses];
    const keep = new Set(this.wanted.map(addressKey));
    for (const [key, h] of this.held) {
      if (keep.has(key)) continue;
      closeListener(h.fd, h.address, h.ino);
      this.held.delete(key);
    }
  }

  /** Closes every socket (supervision ends). */
  close(): void {
    this.update([]);
  }
}

/**
 * The sockets of the service `def`, bound at once where they can be (so
 * connections queue even while the service is held down; what fails is
 * retried and reported at its start). A template's instances share its addresses.
 */
export const listenSockets = (def: { name: string; instance: string | null; listen: readonly ListenAddress[] }): ListenSockets => {
  const sockets = new ListenSockets(def.listen, def.instance !== null, def.name);
  try {
    sockets.bind();
  } catch {
    /* reported when the service starts */
  }
  return sockets;
};
