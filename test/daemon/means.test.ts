/** The rules of src/daemon/means.ts: when vrrpd may not run at all, and what puts an instance in FAULT. */
import { describe, expect, it } from 'vitest';
import { checkMeansAtStart, faultCauseOf, startFaults, type HostMeans } from '../../src/daemon/means.js';
import { IoError } from '../../src/io/errors.js';

const ALL = { netRaw: true, netAdmin: true };
const host = (capabilities: HostMeans['capabilities'], present: string[] = ['ens32']): HostMeans => ({
  capabilities,
  interfaceExists: (ifname) => present.includes(ifname),
});
const VI_1 = { name: 'VI_1', interfaceName: 'ens32' };
const VI_2 = { name: 'VI_2', interfaceName: 'eth9' };
const HOW = 'run as root or with AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN';

describe('checkMeansAtStart', () => {
  it('runs with both capabilities and every interface', () => {
    expect(checkMeansAtStart([VI_1], host(ALL))).toEqual({ ok: true, warnings: [] });
  });

  it('refuses to run without CAP_NET_RAW, in one line that names it and says how to grant it', () => {
    expect(checkMeansAtStart([VI_1], host({ netRaw: false, netAdmin: true }))).toEqual({
      ok: false,
      line: `vrrpd: cannot run: CAP_NET_RAW is missing (needed for the VRRP socket and gratuitous ARP); ${HOW}`,
    });
    expect(checkMeansAtStart([VI_1], host({ netRaw: false, netAdmin: false }))).toMatchObject({
      ok: false,
      line: expect.stringMatching(/^vrrpd: cannot run: CAP_NET_RAW and CAP_NET_ADMIN are missing \(.*\); run as root/),
    });
  });

  it('refuses to run when no instance has its interface, naming each', () => {
    expect(checkMeansAtStart([VI_2, { name: 'VI_3', interfaceName: 'eth9' }], host(ALL))).toEqual({
      ok: false,
      line: 'vrrpd: cannot run: interface eth9 does not exist (needed by VI_2, VI_3)',
    });
  });

  it('runs with CAP_NET_ADMIN or some interfaces missing, one warning line each', () => {
    expect(checkMeansAtStart([VI_1, VI_2], host({ netRaw: true, netAdmin: false }))).toEqual({
      ok: true,
      warnings: [
        `vrrpd: CAP_NET_ADMIN is missing (needed to add the virtual addresses): every instance stays in FAULT; ${HOW}`,
        'vrrpd: interface eth9 does not exist (needed by VI_2): in FAULT until it appears',
      ],
    });
  });

  it('trusts the failures themselves when the capabilities cannot be read', () => {
    expect(checkMeansAtStart([VI_1], host(undefined))).toEqual({ ok: true, warnings: [] });
    expect(startFaults(VI_1, host(undefined))).toEqual([]);
  });

  it('gives each instance the causes it starts with', () => {
    expect(startFaults(VI_2, host({ netRaw: true, netAdmin: false }))).toEqual(['missing_interface:eth9', 'no_permission:vip_add']);
    expect(startFaults(VI_1, host(ALL))).toEqual([]);
  });
});

describe('faultCauseOf', () => {
  const io = (code: string, operation: string): IoError => new IoError(code, operation, 'x');

  it('a refused socket open, VIP add or GARP is a permission fault; EACCES (an LSM) as EPERM', () => {
    expect(faultCauseOf('transport', io('EPERM', 'transport.open'), 'ens32')).toBe('no_permission:vrrp_socket');
    expect(faultCauseOf('vip_add', io('EPERM', 'vip.add'), 'ens32')).toBe('no_permission:vip_add');
    expect(faultCauseOf('vip_add', io('EACCES', 'vip.add'), 'ens32')).toBe('no_permission:vip_add');
    expect(faultCauseOf('garp', io('EPERM', 'garp.send'), 'ens32')).toBe('no_permission:garp');
  });

  it('a missing interface is a fault; a refused send, a down link or another error is not', () => {
    expect(faultCauseOf('transport', io('ENODEV', 'transport.open'), 'eth9')).toBe('missing_interface:eth9');
    expect(faultCauseOf('transport', io('ENODEV', 'transport.watch'), 'eth9')).toBe('missing_interface:eth9');
    expect(faultCauseOf('transport', io('EPERM', 'transport.send'), 'ens32')).toBeUndefined();
    expect(faultCauseOf('transport', io('ENETDOWN', 'transport.socket'), 'ens32')).toBeUndefined();
    expect(faultCauseOf('vip_add', io('EINVAL', 'vip.add'), 'ens32')).toBeUndefined();
  });
});
