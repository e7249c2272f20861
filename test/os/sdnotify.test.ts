// The address sd_notify sends to (src/os/sdnotify.ts): a path, or an
// abstract name after `@`; anything else is not a socket to send to.
import { describe, expect, it } from 'vitest';
import { unixAddress } from '../../src/os/sdnotify.js';

describe('unixAddress', () => {
  it('a path: family, the path, its NUL counted', () => {
    const a = unixAddress('/run/systemd/notify')!;
    expect(a.addr.readUInt16LE(0)).toBe(1);
    expect(a.addr.subarray(2, a.len - 1).toString()).toBe('/run/systemd/notify');
    expect(a.len).toBe(2 + '/run/systemd/notify'.length + 1);
  });

  it('an abstract name: a leading NUL instead of @, its length exact', () => {
    const a = unixAddress('@/org/freedesktop/systemd1/notify/123')!;
    expect(a.addr[2]).toBe(0);
    expect(a.addr.subarray(3, a.len).toString()).toBe('/org/freedesktop/systemd1/notify/123');
    expect(a.len).toBe(2 + '/org/freedesktop/systemd1/notify/123'.length + 1);
  });

  it('nothing usable: empty, relative, too long', () => {
    expect(unixAddress('')).toBeNull();
    expect(unixAddress('@')).toBeNull();
    expect(unixAddress('run/notify')).toBeNull();
    expect(unixAddress(`/${'x'.repeat(107)}`)).toBeNull();
    expect(unixAddress(`/${'x'.repeat(106)}`)).not.toBeNull();
  });
});
