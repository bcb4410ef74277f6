/**
 * The shipped examples are the seed's three keepalived masters in YAML (preempt and nopreempt):
 * each loads, says exactly what the seed says, and the nopreempt ones carry the one warning they
 * should (a weighted check under nopreempt never moves the VIP).
 */
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { acceptedConfig, exampleFiles, ip } from './helpers.js';

const SEED = {
  master1: { source: '10.0.0.51', peers: ['10.0.0.52', '10.0.0.53'], priority: 100 },
  master2: { source: '10.0.0.52', peers: ['10.0.0.51', '10.0.0.53'], priority: 99 },
  master3: { source: '10.0.0.53', peers: ['10.0.0.51', '10.0.0.52'], priority: 98 },
} as const;

const files = exampleFiles();

describe('examples', () => {
  it('has the three masters in both variants', () => {
    expect([...files.keys()]).toEqual([
      'preempt/master1.yaml', 'preempt/master2.yaml', 'preempt/master3.yaml',
      'nopreempt/master1.yaml', 'nopreempt/master2.yaml', 'nopreempt/master3.yaml',
    ]);
  });

  it.each([...files.entries()])('%s loads and matches the seed', (name, text) => {
    const [mode, file] = name.split('/') as ['preempt' | 'nopreempt', string];
    const seed = SEED[file.replace('.yaml', '') as keyof typeof SEED];
    const result = acceptedConfig(parseConfigText(text, name));
    const config = result.config;

    expect(config.global_defs).toMatchObject({ script_user: 'root', enable_script_security: true });
    expect(config.vrrp_script).toEqual({
      check: {
        name: 'check', check: { kind: 'script', script: 'killall -0 kube-apiserver' },
        interval: 2, timeout: 2, weight: -20, reverse: false, rise: 1, fall: 1, init_fail: false,
      },
    });
    expect(Object.keys(config.vrrp_instance)).toEqual(['VI_1']);
    const instance = config.vrrp_instance['VI_1']!;
    expect(instance).toMatchObject({
      interface: 'ens32',
      virtual_router_id: 251,
      priority: seed.priority,
      advert_int: 1,
      authentication: { auth_type: 'PASS', auth_pass: '123456' },
      unicast_src_ip: ip(seed.source),
      unicast_peer: seed.peers.map(ip),
      virtual_ipaddress: [{ address: ip('10.0.0.50'), prefix_len: 32, dev: 'ens32' }],
      track_script: [{ name: 'check' }],
      check_unicast_src: true,
    });

    if (mode === 'preempt') {
      // The seed's preemptive setup: master1 says MASTER, the others BACKUP.
      expect(instance.state).toBe(file === 'master1.yaml' ? 'MASTER' : 'BACKUP');
      expect(instance.nopreempt).toBe(false);
      expect(result.warnings).toEqual([]);
    } else {
      expect(instance.state).toBe('BACKUP');
      expect(instance.nopreempt).toBe(true);
      expect(result.warnings.map((w) => `${w.code} ${w.path}`)).toEqual(['nopreempt_with_weight vrrp_instance.VI_1.track_script[0]']);
    }
  });

  it('the three nodes of a variant agree on everything adverts are compared on', () => {
    for (const mode of ['preempt', 'nopreempt']) {
      const instances = [1, 2, 3].map((n) => acceptedConfig(parseConfigText(files.get(`${mode}/master${n}.yaml`)!, 'x')).config.vrrp_instance['VI_1']!);
      const compared = instances.map((i) => JSON.stringify([i.virtual_router_id, i.advert_int, i.authentication, i.virtual_ipaddress.map((v) => v.address)]));
      expect(new Set(compared).size).toBe(1);
      // Each node's peers are exactly the other two nodes' sources.
      for (const instance of instances) {
        const others = instances.filter((other) => other !== instance).map((other) => other.unicast_src_ip);
        expect(instance.unicast_peer).toEqual(others);
      }
    }
  });
});
