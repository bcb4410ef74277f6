/**
 * The narrow /sys readers the periodic checks use must agree with readInterface, which reads
 * everything. Read-only: every interface this machine (or container) has, plus one that is not.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isLinkUsable, readArpFacts, readIfindex, readInterface, readLinkUsable } from '../../src/io/link.js';

const names = readdirSync('/sys/class/net');

describe('narrow interface readers', () => {
  it('the host has interfaces to compare (lo at least)', () => {
    expect(names).toContain('lo');
  });

  it.each(names)('%s: ifindex, usability, MAC and NOARP agree with readInterface', (ifname) => {
    const facts = readInterface(ifname);
    expect(facts).toBeDefined();
    expect(readIfindex(ifname)).toBe(facts!.ifindex);
    expect(readLinkUsable(ifname)).toBe(isLinkUsable(facts));
    expect(readArpFacts(ifname)).toEqual({ mac: facts!.mac, noarp: facts!.noarp });
  });

  it('a missing or unsafe name is absent and down', () => {
    for (const ifname of ['vrrpdnosuch0', '../etc', '']) {
      expect(readIfindex(ifname)).toBeUndefined();
      expect(readLinkUsable(ifname)).toBe(false);
      expect(readArpFacts(ifname)).toBeUndefined();
    }
    expect(readIfindex('lo')).toBe(1);
  });
});
