/**
 * The pure parts of src/io, without a kernel: frame and header bytes, ip output parsing, errno
 * mapping, the monitor line parser and the scheduler.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseIpv4 } from '../../src/core/ip.js';
import { createScheduler, monotonicClock } from '../../src/io/clock.js';
import { errnoCodeFromMessage, IoError, toIoError } from '../../src/io/errors.js';
import { buildGarpFrame, GARP_FRAME_LENGTH } from '../../src/io/garp.js';
import { findAddonPath } from '../../src/io/native.js';
import { formatMac, isValidIfname, parseMac, parseMonitorLine } from '../../src/io/link.js';
import { buildIpHeader } from '../../src/io/transport.js';
import { classifyIpError, parseIpAddrJson } from '../../src/io/vip.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** A scheduler on fake timers and a clock the test sets by hand (clock.nowMs = ...). */
function fakeScheduler(startMs: number): { clock: { nowMs: number }; scheduler: ReturnType<typeof createScheduler> } {
  const clock = { nowMs: startMs };
  vi.useFakeTimers();
  return { clock, scheduler: createScheduler({ nowMs: () => clock.nowMs }) };
}

describe('buildGarpFrame', () => {
  it('is the 42-byte broadcast ARP request keepalived sends, byte for byte', () => {
    const frame = buildGarpFrame(parseMac('52:54:00:12:34:56')!, parseIpv4('10.0.0.50')!);
    expect(frame).toHaveLength(GARP_FRAME_LENGTH);
    expect(hex(frame)).toBe(
      [
        'ffffffffffff', // Ethernet destination: broadcast
        '525400123456', // Ethernet source: the interface MAC
        '0806', // ARP
        '0001', '0800', '06', '04', // Ethernet / IPv4, address lengths 6 and 4
        '0001', // op 1: request
        '525400123456', '0a000032', // sender MAC, sender IP = VIP
        'ffffffffffff', '0a000032', // target MAC all ones, target IP = VIP
      ].join(''),
    );
  });

  it('refuses a MAC that is not 6 bytes', () => {
    expect(() => buildGarpFrame(new Uint8Array(5), 1)).toThrow(RangeError);
  });
});

describe('buildIpHeader', () => {
  it('matches the keepalived capture: 45c0 0028 0000 0000 ff70, addresses, ID and checksum left to the kernel', () => {
    const header = buildIpHeader(parseIpv4('10.0.0.51')!, parseIpv4('10.0.0.52')!, 20);
    expect(hex(header)).toBe('45c00028' + '00000000' + 'ff700000' + '0a000033' + '0a000034');
  });
});

describe('MAC and interface names', () => {
  it('parses and formats MACs', () => {
    expect(formatMac(parseMac('AA:bb:0c:00:ff:01')!)).toBe('aa:bb:0c:00:ff:01');
    expect(parseMac('aa:bb:cc:dd:ee')).toBeUndefined();
    expect(parseMac('aa:bb:cc:dd:ee:fg')).toBeUndefined();
  });

  it('accepts only names that cannot escape /sys/class/net', () => {
    expect(isValidIfname('ens32')).toBe(true);
    expect(isValidIfname('bond0.100')).toBe(true);
    for (const bad of ['', '.', '..', '../../etc', 'a/b', 'x'.repeat(16), 'ens 32']) expect(isValidIfname(bad)).toBe(false);
  });
});

describe('parseMonitorLine', () => {
  it('finds the interface name in ip -o monitor link lines', () => {
    expect(parseMonitorLine('2: ens32: <BROADCAST,MULTICAST> mtu 1500 qdisc noqueue state DOWN')).toBe('ens32');
    expect(parseMonitorLine('7: ens32@if6: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500')).toBe('ens32');
    expect(parseMonitorLine('Deleted 9: late0: <BROADCAST,NOARP> mtu 1500')).toBe('late0');
    expect(parseMonitorLine('garbage')).toBeUndefined();
  });
});

describe('ip output', () => {
  it('classifies iproute2 errors from old and new kernels', () => {
    expect(classifyIpError('RTNETLINK answers: File exists')).toBe('EEXIST');
    expect(classifyIpError('Error: ipv4: Address already assigned.')).toBe('EEXIST');
    expect(classifyIpError('RTNETLINK answers: Cannot assign requested address')).toBe('EADDRNOTAVAIL');
    expect(classifyIpError('Error: ipv4: Address not found.')).toBe('EADDRNOTAVAIL');
    expect(classifyIpError('RTNETLINK answers: Operation not permitted')).toBe('EPERM');
    expect(classifyIpError('Cannot find device "nope0"')).toBe('ENODEV');
    expect(classifyIpError('Device "nope0" does not exist.')).toBe('ENODEV');
    expect(classifyIpError('something else')).toBe('EIPCMD');
  });

  it('parses ip -4 -j addr show', () => {
    const json = JSON.stringify([
      {
        ifindex: 7,
        ifname: 'ens32',
        addr_info: [
          { family: 'inet', local: '10.0.0.51', prefixlen: 24, broadcast: '10.0.0.255', scope: 'global', label: 'ens32' },
          { family: 'inet', local: '10.0.0.50', prefixlen: 32, scope: 'global', label: 'ens32:vip' },
          { family: 'inet', local: '10.0.0.61', prefixlen: 24, scope: 'global', secondary: true, label: 'ens32' },
        ],
      },
    ]);
    expect(parseIpAddrJson(json, 'ens32')).toEqual([
      { address: parseIpv4('10.0.0.51'), prefixLength: 24, ifname: 'ens32', label: 'ens32', broadcast: parseIpv4('10.0.0.255'), secondary: false },
      { address: parseIpv4('10.0.0.50'), prefixLength: 32, ifname: 'ens32', label: 'ens32:vip', broadcast: undefined, secondary: false },
      { address: parseIpv4('10.0.0.61'), prefixLength: 24, ifname: 'ens32', label: 'ens32', broadcast: undefined, secondary: true },
    ]);
  });
});

describe('errors', () => {
  it('maps raw-socket strerror messages back to errno names', () => {
    expect(errnoCodeFromMessage('Network is down')).toBe('ENETDOWN');
    expect(errnoCodeFromMessage('Network is unreachable')).toBe('ENETUNREACH');
    expect(errnoCodeFromMessage('No such device')).toBe('ENODEV');
    expect(errnoCodeFromMessage('Operation not permitted')).toBe('EPERM');
    expect(errnoCodeFromMessage('Something new')).toBeUndefined();
  });

  it('keeps an existing code and wraps non-errors', () => {
    const coded = Object.assign(new Error('sendto(AF_PACKET): Network is down'), { code: 'ENETDOWN' });
    expect(toIoError('garp.send', coded)).toMatchObject({ code: 'ENETDOWN', operation: 'garp.send' });
    expect(toIoError('x', new Error('Network is down')).code).toBe('ENETDOWN');
    expect(toIoError('x', 'boom')).toMatchObject({ code: 'EIO', message: 'x: boom' });
    const io = new IoError('ENODEV', 'y', 'gone');
    expect(toIoError('z', io)).toBe(io);
  });
});

describe('findAddonPath', () => {
  it('finds the built addon from src/io and from where dist/io would be', () => {
    const root = new URL('../../', import.meta.url);
    const fromSrc = findAddonPath(new URL('src/io/native.ts', root).href);
    const fromDist = findAddonPath(new URL('dist/io/native.js', root).href);
    expect(fromSrc).toMatch(/src\/io\/native\/build\/Release\/vrrpd_packet\.node$/);
    expect(fromDist).toBe(fromSrc);
    expect(findAddonPath('file:///nonexistent/dir/x.js')).toBeUndefined();
  });
});

describe('clock and scheduler', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('the monotonic clock never goes backwards and ignores the wall clock', () => {
    const a = monotonicClock.nowMs();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('1999-01-01'));
    const b = monotonicClock.nowMs();
    expect(Number.isFinite(a)).toBe(true);
    expect(b).toBeGreaterThanOrEqual(a);
  });

  it('the monotonic clock is finer than a millisecond (deadlines are not floored)', () => {
    const samples = Array.from({ length: 50 }, () => monotonicClock.nowMs());
    expect(samples.some((t) => !Number.isInteger(t))).toBe(true);
  });

  it('a timer that fires less than a millisecond early counts as on time and is given the deadline', async () => {
    const { clock, scheduler } = fakeScheduler(1000);
    const fired: number[] = [];
    scheduler.schedule(1613, (at) => fired.push(at));
    clock.nowMs = 1612.3; // libuv's floored, cached loop time let the timer out 0.7 ms early
    await vi.advanceTimersByTimeAsync(613);
    expect(fired).toEqual([1613]);
  });

  it('asks setTimeout for the whole ms below the deadline (Node fires about 1 ms after the delay it is given)', async () => {
    const { clock, scheduler } = fakeScheduler(0);
    const fired: number[] = [];
    scheduler.schedule(612.5, (at) => fired.push(at));
    await vi.advanceTimersByTimeAsync(611);
    expect(fired).toEqual([]);
    clock.nowMs = 611.8;
    await vi.advanceTimersByTimeAsync(1);
    expect(fired).toEqual([612.5]);
  });

  it('fires once at the deadline, and re-arms rather than firing early', async () => {
    const { clock, scheduler } = fakeScheduler(1000);
    const fired: number[] = [];
    scheduler.schedule(1500, (at) => fired.push(at));
    expect(scheduler.pendingDeadlineMs).toBe(1500);
    // The timer fires after 500 ms of timer time but the clock only advanced 499: no call yet.
    clock.nowMs = 1499;
    await vi.advanceTimersByTimeAsync(500);
    expect(fired).toEqual([]);
    clock.nowMs = 1500;
    await vi.advanceTimersByTimeAsync(1);
    expect(fired).toEqual([1500]);
    expect(scheduler.pendingDeadlineMs).toBeUndefined();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fired).toEqual([1500]);
  });

  it('a new deadline replaces the old one; undefined cancels; past deadlines fire at once', async () => {
    const { clock, scheduler } = fakeScheduler(0);
    const fired: string[] = [];
    scheduler.schedule(100, () => fired.push('old'));
    scheduler.schedule(200, () => fired.push('new'));
    clock.nowMs = 200;
    await vi.advanceTimersByTimeAsync(200);
    expect(fired).toEqual(['new']);
    scheduler.schedule(300, () => fired.push('cancelled'));
    scheduler.schedule(undefined, () => fired.push('never'));
    clock.nowMs = 1000;
    await vi.advanceTimersByTimeAsync(1000);
    expect(fired).toEqual(['new']);
    scheduler.schedule(5, (at) => fired.push(`late at ${at}`));
    await vi.advanceTimersByTimeAsync(0);
    expect(fired).toEqual(['new', 'late at 1000']);
    expect(() => scheduler.schedule(Number.NaN, () => {})).toThrow(RangeError);
  });
});
