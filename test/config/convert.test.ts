/**
 * The validated config becomes the core's InstanceConfig: times in ms, addresses as numbers, the
 * password as 8 NUL-padded bytes, and one TrackerSpec per tracked thing with its effective weight.
 */
import { describe, expect, it } from 'vitest';
import { configuredSourceAddress, toInstanceConfig, trackerSpecs } from '../../src/config/convert.js';
import { parseConfigText } from '../../src/config/load.js';
import { acceptedConfig, baseWith, exampleFiles, ip, parse } from './helpers.js';

describe('toInstanceConfig', () => {
  it('converts the seed master1 (preempt) exactly', () => {
    const { config } = acceptedConfig(parseConfigText(exampleFiles().get('preempt/master1.yaml')!, 'master1.yaml'));
    const instance = config.vrrp_instance['VI_1']!;
    expect(toInstanceConfig(instance, config, ip('192.0.2.99'))).toEqual({
      name: 'VI_1',
      virtualRouterId: 251,
      priority: 100,
      version: 2,
      advertIntervalCs: 100,
      v3Checksum: 'auto',
      initialState: 'MASTER',
      nopreempt: false,
      preemptDelayMs: 0,
      authType: 1,
      authData: new Uint8Array([0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0, 0]),
      virtualAddresses: [ip('10.0.0.50')],
      // unicast_src_ip is configured, so the resolved interface address is not used.
      sourceAddress: ip('10.0.0.51'),
      unicastPeers: [ip('10.0.0.52'), ip('10.0.0.53')],
      checkUnicastSrc: true,
      skipCheckAdvAddr: false,
      garpMasterDelayMs: 5000,
      garpMasterRepeat: 5,
      garpMasterRefreshMs: 0,
      trackers: [
        { name: 'script:check', weight: -20, reverse: false },
        { name: 'interface:ens32', weight: 0, reverse: false },
      ],
    });
  });

  it('uses the resolved interface address only when no source is configured', () => {
    const text = ['vrrp_instance:', '  VI_1:', '    interface: eth0', '    virtual_router_id: 7', '    virtual_ipaddress: [192.0.2.1]', ''].join('\n');
    const { config } = acceptedConfig(parse(text));
    const instance = config.vrrp_instance['VI_1']!;
    expect(configuredSourceAddress(instance)).toBeUndefined();
    const converted = toInstanceConfig(instance, config, ip('192.0.2.10'));
    expect(converted.sourceAddress).toBe(ip('192.0.2.10'));
    expect(converted.authType).toBe(0);
    expect(converted.authData).toEqual(new Uint8Array(8));
    expect(converted.unicastPeers).toEqual([]);
  });

  it('mcast_src_ip is a configured source too', () => {
    const text = baseWith({ 15: '    mcast_src_ip: 10.0.0.77' });
    const { config } = acceptedConfig(parse(text));
    expect(toInstanceConfig(config.vrrp_instance['VI_1']!, config, ip('192.0.2.10')).sourceAddress).toBe(ip('10.0.0.77'));
  });

  it('effective weights: instance override > script weight; track_interface defaults to 0', () => {
    const text = [
      'vrrp_script:',
      '  a: {script: "/bin/true", weight: -20}',
      '  b: {script: "/bin/true", weight: 10, reverse: true}',
      '  c: {script: "/bin/true"}',
      'vrrp_instance:',
      '  VI_1:',
      '    interface: ens32',
      '    virtual_router_id: 1',
      '    virtual_ipaddress: [10.0.0.50]',
      '    track_script: [a, {name: b, weight: 5}, {name: c, weight: -30, reverse: true}]',
      '    track_interface: [eth1, {name: eth2, weight: -10}, {name: ens32, weight: -5}]',
      '',
    ].join('\n');
    const { config } = acceptedConfig(parse(text));
    expect(trackerSpecs(config.vrrp_instance['VI_1']!, config)).toEqual([
      { name: 'script:a', weight: -20, reverse: false },
      { name: 'script:b', weight: 5, reverse: true },
      { name: 'script:c', weight: -30, reverse: true },
      { name: 'interface:eth1', weight: 0, reverse: false },
      { name: 'interface:eth2', weight: -10, reverse: false },
      // The primary interface is listed explicitly, so no implicit weight-0 tracker is added.
      { name: 'interface:ens32', weight: -5, reverse: false },
    ]);
  });

  it('dont_track_primary leaves the own interface untracked', () => {
    const { config } = acceptedConfig(parse(baseWith({}, ['    dont_track_primary: true'])));
    expect(trackerSpecs(config.vrrp_instance['VI_1']!, config).map((t) => t.name)).toEqual(['script:check']);
  });

  it('times become milliseconds and a long password is cut to 8 bytes', () => {
    const text = baseWith({ 14: '      auth_pass: "abcdefghij"' }, ['    preempt_delay: 2.5', '    garp_master_delay: 3', '    garp_master_refresh: 60', '    nopreempt: true', '    advert_int: 2']);
    const { config, warnings } = acceptedConfig(parse(text));
    expect(warnings.map((w) => w.code).sort()).toEqual(['auth_pass_truncated', 'nopreempt_with_weight']);
    const converted = toInstanceConfig(config.vrrp_instance['VI_1']!, config, 0);
    expect(converted).toMatchObject({ preemptDelayMs: 2500, garpMasterDelayMs: 3000, garpMasterRefreshMs: 60000, nopreempt: true, advertIntervalCs: 200 });
    expect(new TextDecoder().decode(converted.authData)).toBe('abcdefgh');
  });

  it('refuses (throws) a tracker the loader would have rejected: that is API misuse', () => {
    const { config } = acceptedConfig(parse(baseWith()));
    const instance = { ...config.vrrp_instance['VI_1']!, track_script: [{ name: 'nope' }] };
    expect(() => toInstanceConfig(instance, config, 0)).toThrow(/unknown vrrp_script nope/);
  });
});
