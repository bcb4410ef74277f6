/**
 * npm raw-socket opens its socket without CLOEXEC. The transport marks every descriptor
 * close-on-exec after opening it, so `ip`, check scripts and notify scripts do not inherit the
 * VRRP socket. Needs CAP_NET_RAW (root), like the other real-kernel tests.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { openTransport } from '../../src/io/transport.js';
import { labUnavailableReason } from './lab.js';

/** Socket descriptors a child process holds, other than its stdio. */
function socketsInheritedByChild(): string[] {
  const out = execFileSync('sh', ['-c', 'for f in /proc/$$/fd/*; do n=${f##*/}; [ "$n" -gt 2 ] && readlink "$f"; done; true'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.startsWith('socket:'));
}

describe.skipIf(labUnavailableReason !== undefined)('descriptors and children', () => {
  it('a child spawned after the VRRP socket is open does not inherit it', () => {
    const before = socketsInheritedByChild();
    const errors: string[] = [];
    const transport = openTransport('lo', { onPacket: () => undefined, onError: (e) => errors.push(e.message) }, { multicast: false });
    try {
      expect(transport.isOpen).toBe(true);
      expect(socketsInheritedByChild()).toEqual(before);
      expect(errors).toEqual([]);
    } finally {
      transport.close();
    }
  });
});
