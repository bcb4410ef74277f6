/**
 * keepalived's unicast_fault_no_peer (per instance, as keepalived 2.2.7's vrrp_parser.c has it) and
 * the notify FIFO keywords of global_defs, in keepalived.conf and in YAML.
 */
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { planDaemon } from '../../src/daemon/plan.js';

const CONF = (globals: string, instance: string): string => `global_defs {
${globals}}
vrrp_instance VI_1 {
    state BACKUP
    interface ens32
    virtual_router_id 51
    priority 100
    unicast_src_ip 10.0.0.51
${instance}    virtual_ipaddress {
        10.0.0.50 dev ens32
    }
}
`;

const YAML = (globals: string, instance: string): string => `global_defs:
${globals || '  router_id: a\n'}vrrp_instance:
  VI_1:
    interface: ens32
    virtual_router_id: 51
    unicast_src_ip: 10.0.0.51
${instance}    virtual_ipaddress: [10.0.0.50 dev ens32]
`;

describe('unicast_fault_no_peer', () => {
  it('is an instance keyword in both formats and reaches the plan', () => {
    for (const [text, file] of [
      [CONF('', '    unicast_fault_no_peer\n'), '/etc/keepalived/keepalived.conf'],
      [YAML('', '    unicast_fault_no_peer: true\n'), '/etc/vrrpd/vrrpd.yaml'],
    ] as const) {
      const loaded = parseConfigText(text, file);
      if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
      expect(loaded.config.vrrp_instance['VI_1']?.unicast_fault_no_peer).toBe(true);
      expect(planDaemon(loaded.config).instances[0]?.unicastFaultNoPeer).toBe(true);
    }
    const without = parseConfigText(CONF('', ''), '/etc/keepalived/keepalived.conf');
    expect(without.ok && planDaemon(without.config).instances[0]?.unicastFaultNoPeer).toBeUndefined();
  });

  it('without a peer it loads with a warning that the instance will stay in FAULT; with peers it says nothing', () => {
    const alone = parseConfigText(CONF('', '    unicast_fault_no_peer\n'), '/etc/keepalived/keepalived.conf');
    expect(alone.warnings.filter((w) => w.code === 'fault_no_peer').map((w) => `${w.path} ${w.line}`)).toEqual(['vrrp_instance.VI_1.unicast_fault_no_peer 9']);
    expect(alone.warnings.find((w) => w.code === 'fault_no_peer')?.message).toMatch(/keeps it in FAULT/);
    const peered = parseConfigText(CONF('', '    unicast_fault_no_peer\n    unicast_peer {\n        10.0.0.52\n    }\n'), '/etc/keepalived/keepalived.conf');
    expect(peered.ok).toBe(true);
    expect(peered.warnings.filter((w) => w.code === 'fault_no_peer')).toEqual([]);
  });

  it('takes no value, as keepalived', () => {
    const loaded = parseConfigText(CONF('', '    unicast_fault_no_peer yes\n'), '/etc/keepalived/keepalived.conf');
    expect(loaded.ok).toBe(false);
    expect(loaded.ok ? [] : loaded.errors.map((e) => `${e.code} ${e.path} ${e.line}`)).toEqual(['invalid_value vrrp_instance.VI_1.unicast_fault_no_peer 9']);
  });
});

describe('notify_fifo and vrrp_notify_fifo', () => {
  it('global_defs takes the FIFO with an optional user and group, and the reader script', () => {
    const text = CONF('    notify_fifo /run/keepalived.fifo root root\n    notify_fifo_script "/usr/local/bin/reader -v"\n    vrrp_notify_fifo /run/vrrp.fifo\n', '');
    const loaded = parseConfigText(text, '/etc/keepalived/keepalived.conf');
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    expect(loaded.config.global_defs).toMatchObject({ notify_fifo: '/run/keepalived.fifo root root', notify_fifo_script: '/usr/local/bin/reader -v', vrrp_notify_fifo: '/run/vrrp.fifo' });
    const yaml = parseConfigText(YAML('  vrrp_notify_fifo: /run/vrrp.fifo\n  vrrp_notify_fifo_script: /usr/local/bin/reader\n', ''), '/etc/vrrpd/vrrpd.yaml');
    if (!yaml.ok) throw new Error(JSON.stringify(yaml.errors));
    expect(yaml.config.global_defs).toMatchObject({ vrrp_notify_fifo: '/run/vrrp.fifo', vrrp_notify_fifo_script: '/usr/local/bin/reader' });
  });

  it('a relative path is refused with the field named', () => {
    const loaded = parseConfigText(YAML('  notify_fifo: run/vrrp.fifo\n', ''), '/etc/vrrpd/vrrpd.yaml');
    expect(loaded.ok).toBe(false);
    expect(loaded.ok ? [] : loaded.errors.map((e) => `${e.path}: ${e.message}`)).toEqual([expect.stringMatching(/^global_defs\.notify_fifo: must be an absolute FIFO path/)]);
  });
});
