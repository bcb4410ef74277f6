/**
 * The takeover rehearsal (src/daemon/rehearsal.ts): it runs the takeover path once in a throwaway
 * engine so that the real one does not compile it at the moment a master died. It must reach
 * MASTER for every code path the plan has, and it must not touch the real engine or the host.
 */
import { describe, expect, it } from 'vitest';
import { parseIpv4, type Ipv4 } from '../../src/core/ip.js';
import { Engine, type HostFacts } from '../../src/daemon/engine.js';
import { planOf } from './plans.js';
import { rehearsalPlan, rehearseTakeover } from '../../src/daemon/rehearsal.js';

const SEED_LIKE = `
vrrp_script:
  check: { script: /bin/false, interval: 1, weight: 0, init_fail: true }
vrrp_instance:
  VI_1:
    state: BACKUP
    interface: ens32
    virtual_router_id: 51
    priority: 99
    authentication: { auth_type: PASS, auth_pass: "123456" }
    unicast_src_ip: 10.0.0.52
    unicast_peer: [10.0.0.51, 10.0.0.53]
    track_script: [check]
    virtual_ipaddress: [10.0.0.50 dev ens32]
  VI_2:
    state: BACKUP
    interface: ens32
    virtual_router_id: 52
    priority: 99
    unicast_src_ip: 10.0.0.52
    unicast_peer: [10.0.0.51]
    virtual_ipaddress: [10.0.0.60 dev ens32]
  VI_3:
    version: 3
    advert_int: 0.1
    state: BACKUP
    interface: ens32
    virtual_router_id: 53
    priority: 99
    virtual_ipaddress: [10.0.0.70 dev ens32]
`;

const plan = planOf;

const FACTS: HostFacts = { interfaces: new Map([['ens32', { address: parseIpv4('10.0.0.52') as Ipv4, up: true, exists: true }]]), capabilities: undefined };

describe('takeover rehearsal', () => {
  it('takes one instance per code path (version, unicast or multicast), without trackers', () => {
    const picked = rehearsalPlan(plan(SEED_LIKE));
    expect(picked.instances.map((i) => i.name)).toEqual(['VI_1', 'VI_3']);
    expect(picked.instances.every((i) => i.core.trackers.length === 0)).toBe(true);
    expect(picked.checks).toEqual([]);
  });

  it('every rehearsed instance becomes MASTER, even one whose check fails and with no source address on the host', () => {
    expect(rehearseTakeover(plan(SEED_LIKE), FACTS)).toBe(2);
    const bare: HostFacts = { interfaces: new Map([['ens32', { address: undefined, up: false, exists: true }]]), capabilities: undefined };
    expect(rehearseTakeover(plan(SEED_LIKE.replaceAll('    unicast_src_ip: 10.0.0.52\n', '')), bare)).toBe(2);
  });

  it('leaves the real engine as it would be without it: the same commands, the same deadline', () => {
    const run = (rehearse: boolean): string[] => {
      const p = plan(SEED_LIKE);
      if (rehearse) rehearseTakeover(p, FACTS);
      const engine = new Engine();
      engine.start(0, p, FACTS);
      const out: string[] = [];
      for (let c = engine.pollCommand(0); c !== undefined; c = engine.pollCommand(0)) out.push(JSON.stringify(c));
      out.push(String(engine.nextDeadline()));
      return out;
    };
    expect(run(true)).toEqual(run(false));
  });
});
