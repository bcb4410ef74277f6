/**
 * One focused test per rule of docs/protocol.md's "Timers", "States and transitions", "Becoming
 * MASTER", "Tracking and effective priority" and "FAULT" sections. Each test names its rule.
 *
 * The last part is driven by the transition table (src/core/transitions.ts): every row is reached
 * by some input sequence, and random inputs never produce a move outside it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeAdvert, v3Checksum } from '../../src/core/codec.js';
import { VRRP_MULTICAST_GROUP } from '../../src/core/ip.js';
import { VrrpMachine } from '../../src/core/machine.js';
import { masterDownIntervalMs, masterDownIntervalV3Ms, skewTimeMs, skewTimeV3Ms } from '../../src/core/timers.js';
import { TRANSITIONS, transitionKey } from '../../src/core/transitions.js';
import type { Action, InstanceConfig, TrackerSpec, TrackerStatus, VrrpState } from '../../src/core/types.js';
import { advertFrom, ip, seedConfig, types } from './helpers.js';

function started(overrides: Partial<InstanceConfig> = {}, nowMs = 0): VrrpMachine {
  const machine = new VrrpMachine(seedConfig(overrides));
  machine.start(nowMs);
  return machine;
}

/** Run a fresh BACKUP until its Master_Down fires, so it is MASTER at the returned time. */
function asMaster(overrides: Partial<InstanceConfig> = {}): { machine: VrrpMachine; nowMs: number } {
  const machine = started(overrides);
  const nowMs = machine.nextDeadline();
  machine.handleTimeout(nowMs);
  expect(machine.state).toBe('MASTER');
  return { machine, nowMs };
}

function sentPriorities(actions: Action[]): number[] {
  return actions.flatMap((a) => (a.type === 'send_advert' ? [a.priority] : []));
}

describe('timers (RFC 3768 6.1)', () => {
  it('Skew_Time is (256 - priority) / 256 s', () => {
    expect(skewTimeMs(100)).toBe(609);
    expect(skewTimeMs(255)).toBe(3);
    expect(skewTimeMs(1)).toBe(996);
  });
  it('Master_Down_Interval is 3 x advert_int + Skew_Time: priority 100 at 1 s gives 3.609 s', () => {
    expect(masterDownIntervalMs(1, 100)).toBe(3609);
    expect(masterDownIntervalMs(2, 254)).toBe(6007);
  });
  it('the Master_Down timer uses the effective priority', () => {
    const machine = new VrrpMachine(seedConfig({ trackers: [{ name: 'check', weight: -20, reverse: false }] }));
    machine.setTrackerStatus(0, 'check', 'failed');
    machine.start(0);
    expect(machine.nextDeadline()).toBe(masterDownIntervalMs(1, 80));
  });
});

describe('start', () => {
  it('starts in BACKUP with a full Master_Down timer, also with state MASTER', () => {
    for (const initialState of ['MASTER', 'BACKUP'] as const) {
      const machine = new VrrpMachine(seedConfig({ initialState }));
      const actions = machine.start(1000);
      expect(machine.state).toBe('BACKUP');
      expect(types(actions)).toEqual(['transition(INIT->BACKUP)']);
      expect(machine.nextDeadline()).toBe(1000 + 3609);
    }
  });
  it('an address owner (priority 255) goes to MASTER at once', () => {
    const machine = new VrrpMachine(seedConfig({ priority: 255 }));
    const actions = machine.start(0);
    expect(machine.state).toBe('MASTER');
    expect(types(actions)).toEqual(['send_advert(255)', 'add_vips', 'garp', 'transition(INIT->MASTER)']);
    expect(machine.lastTransition?.reason).toBe('address_owner');
  });
  it('starting twice is API misuse and throws', () => {
    const machine = started();
    expect(() => machine.start(5)).toThrow(/already started/);
  });
});

describe('becoming MASTER', () => {
  it('Master_Down fires: advert, VIPs, GARP burst, then notify, in that order', () => {
    const machine = started();
    expect(machine.handleTimeout(3608)).toEqual([]); // not yet due: a no-op
    const actions = machine.handleTimeout(3609);
    expect(types(actions)).toEqual(['send_advert(100)', 'add_vips', 'garp', 'transition(BACKUP->MASTER)']);
    expect(machine.lastTransition?.reason).toBe('master_down_timer');
    expect(machine.masterAddress).toBe(ip('10.0.0.51'));
  });
  it('a second GARP burst follows garp_master_delay later', () => {
    const { machine, nowMs } = asMaster({ garpMasterDelayMs: 5000 });
    const garps: string[] = [];
    for (let t = nowMs + 1000; t <= nowMs + 10_000; t += 1000) {
      for (const a of machine.handleTimeout(t)) if (a.type === 'garp') garps.push(`${t - nowMs}:${a.why}`);
    }
    expect(garps).toEqual(['5000:delayed']);
  });
  it('garp_master_refresh repeats bursts on its period', () => {
    const { machine, nowMs } = asMaster({ garpMasterDelayMs: 0, garpMasterRefreshMs: 3000 });
    const garps: number[] = [];
    for (let t = nowMs + 1000; t <= nowMs + 9000; t += 1000) {
      for (const a of machine.handleTimeout(t)) if (a.type === 'garp') garps.push(t - nowMs);
    }
    expect(garps).toEqual([3000, 6000, 9000]);
  });
  it('a MASTER sends an advert every advert_int (Adver_Timer)', () => {
    const { machine, nowMs } = asMaster({ advertIntervalCs: 200, garpMasterDelayMs: 0 });
    expect(machine.nextDeadline()).toBe(nowMs + 2000);
    expect(types(machine.handleTimeout(nowMs + 2000))).toEqual(['send_advert(100)']);
    expect(machine.nextDeadline()).toBe(nowMs + 4000);
  });
  it('an Adver_Timer served a little late keeps its phase (docs/protocol.md#timer-phase)', () => {
    const { machine, nowMs } = asMaster({ garpMasterDelayMs: 5000 });
    // Served 0.7 ms late each second: the deadlines stay on the second, so after five the advert
    // and the delayed GARP are due together (drifting, the adverts would be 3.5 ms behind it).
    for (let k = 1; k <= 4; k++) {
      expect(machine.nextDeadline()).toBe(nowMs + k * 1000);
      machine.handleTimeout(nowMs + k * 1000 + 0.7);
    }
    expect(machine.nextDeadline()).toBe(nowMs + 5000);
    expect(types(machine.handleTimeout(nowMs + 5000))).toEqual(['send_advert(100)', 'garp']);
  });
  it('an Adver_Timer served more than an interval late (a stall) restarts from then, without a catch-up burst', () => {
    const { machine, nowMs } = asMaster({ garpMasterDelayMs: 0 });
    expect(sentPriorities(machine.handleTimeout(nowMs + 3500))).toEqual([100]);
    expect(machine.nextDeadline()).toBe(nowMs + 4500);
  });
  it('garp_master_refresh keeps its phase too', () => {
    const { machine, nowMs } = asMaster({ garpMasterDelayMs: 0, garpMasterRefreshMs: 3000 });
    for (let t = nowMs + 1000; t <= nowMs + 3000; t += 1000) machine.handleTimeout(t + 0.4);
    expect(machine.nextDeadline()).toBe(nowMs + 4000);
    machine.handleTimeout(nowMs + 4000);
    machine.handleTimeout(nowMs + 5000);
    expect(types(machine.handleTimeout(nowMs + 6000))).toEqual(['send_advert(100)', 'garp']);
  });
  it('the advert payload is a valid VRRPv2 advert with our VRID, priority, VIPs and password', () => {
    const { machine, nowMs } = asMaster({ garpMasterDelayMs: 0 });
    const [send] = machine.handleTimeout(nowMs + 1000);
    expect(send?.type).toBe('send_advert');
    if (send?.type !== 'send_advert') return;
    const decoded = decodeAdvert(send.payload);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.advert).toMatchObject({ version: 2, type: 1, virtualRouterId: 251, priority: 100, authType: 1, advertIntervalSec: 1, addresses: [ip('10.0.0.50')] });
  });
});

describe('BACKUP receiving adverts', () => {
  it('priority 0 sets the Master_Down timer to Skew_Time', () => {
    const machine = started();
    machine.handlePacket(1000, advertFrom({ priority: 0 }));
    expect(machine.nextDeadline()).toBe(1000 + skewTimeMs(100));
    expect(machine.stats.priorityZeroReceived).toBe(1);
  });
  it('priority 0 sets Skew_Time also with nopreempt', () => {
    const machine = started({ initialState: 'BACKUP', nopreempt: true });
    machine.handlePacket(1000, advertFrom({ priority: 0 }));
    expect(machine.nextDeadline()).toBe(1000 + 609);
  });
  it('preempt: priority >= ours resets the Master_Down timer', () => {
    const machine = started();
    machine.handlePacket(2000, advertFrom({ priority: 100 }));
    expect(machine.nextDeadline()).toBe(2000 + 3609);
    machine.handlePacket(3000, advertFrom({ priority: 150 }));
    expect(machine.nextDeadline()).toBe(3000 + 3609);
    expect(machine.masterAddress).toBe(ip('10.0.0.52'));
  });
  it('preempt: a lower priority is ignored, so the timer keeps running and we take over after Master_Down', () => {
    const machine = started();
    for (let t = 1000; t < 3609; t += 1000) machine.handlePacket(t, advertFrom({ priority: 99 }));
    expect(machine.nextDeadline()).toBe(3609);
    machine.handleTimeout(3609);
    expect(machine.state).toBe('MASTER');
  });
  it('nopreempt: every valid advert resets the timer, whatever its priority', () => {
    const machine = started({ initialState: 'BACKUP', nopreempt: true });
    for (let t = 1000; t <= 20_000; t += 1000) {
      machine.handlePacket(t, advertFrom({ priority: 1 }));
      machine.handleTimeout(t);
    }
    expect(machine.state).toBe('BACKUP');
    expect(machine.nextDeadline()).toBe(20_000 + 3609);
  });
  it('nopreempt is only honoured with state BACKUP (cleared with state MASTER) and below 255', () => {
    expect(new VrrpMachine(seedConfig({ initialState: 'MASTER', nopreempt: true })).preempt).toBe(true);
    expect(new VrrpMachine(seedConfig({ initialState: 'BACKUP', nopreempt: true, priority: 255 })).preempt).toBe(true);
    expect(new VrrpMachine(seedConfig({ initialState: 'BACKUP', nopreempt: true })).preempt).toBe(false);
    const machine = started({ initialState: 'MASTER', nopreempt: true });
    for (let t = 1000; t < 3609; t += 1000) machine.handlePacket(t, advertFrom({ priority: 99 }));
    machine.handleTimeout(3609);
    expect(machine.state).toBe('MASTER');
  });
  it('preempt_delay: lower-priority adverts are accepted until D after start, then ignored and Master_Down runs out', () => {
    const machine = started({ preemptDelayMs: 10_000 });
    let becameMasterAt: number | undefined;
    for (let t = 500; t <= 30_000 && becameMasterAt === undefined; t += 500) {
      if (t % 1000 === 0) machine.handlePacket(t, advertFrom({ priority: 99 }));
      machine.handleTimeout(t);
      if (machine.state === 'MASTER') becameMasterAt = t;
    }
    // The last accepted advert is the one at 9 s (the delay ends at 10 s); Master_Down runs out at
    // 9 s + 3.609 s, noticed at the next 500 ms tick.
    expect(becameMasterAt).toBe(13_000);
  });
  it('preempt_delay: the delay starts at the first lower-priority advert seen after a higher one stopped it', () => {
    const machine = started({ preemptDelayMs: 5000 });
    machine.handlePacket(1000, advertFrom({ priority: 200 })); // a better master: the delay stops
    machine.handlePacket(2000, advertFrom({ priority: 99 })); // lower: starts a 5 s delay
    machine.handlePacket(6500, advertFrom({ priority: 99 })); // within it: accepted
    expect(machine.nextDeadline()).toBe(6500 + 3609);
    machine.handlePacket(7500, advertFrom({ priority: 99 })); // past it: ignored
    expect(machine.nextDeadline()).toBe(6500 + 3609);
  });
});

describe('MASTER receiving adverts', () => {
  it('priority 0: send an advert at once and stay MASTER', () => {
    const { machine, nowMs } = asMaster();
    const actions = machine.handlePacket(nowMs + 100, advertFrom({ priority: 0 }));
    expect(types(actions)).toEqual(['send_advert(100)']);
    expect(machine.state).toBe('MASTER');
    expect(machine.nextDeadline()).toBe(nowMs + 1100);
  });
  it('higher priority: go BACKUP, remove VIPs, no priority-0 advert (one parting advert at our priority makes the winner re-send GARP)', () => {
    const { machine, nowMs } = asMaster();
    const actions = machine.handlePacket(nowMs + 100, advertFrom({ priority: 101 }));
    expect(types(actions)).toEqual(['send_advert(100)', 'remove_vips', 'transition(MASTER->BACKUP)']);
    expect(machine.lastTransition?.reason).toBe('higher_priority_advert');
    expect(machine.nextDeadline()).toBe(nowMs + 100 + 3609);
    expect(machine.masterAddress).toBe(ip('10.0.0.52'));
  });
  it('equal priority from a higher source address: go BACKUP', () => {
    const { machine, nowMs } = asMaster();
    machine.handlePacket(nowMs + 100, advertFrom({ priority: 100, source: '10.0.0.53' }));
    expect(machine.state).toBe('BACKUP');
    expect(machine.lastTransition?.reason).toBe('equal_priority_higher_address');
  });
  it('equal priority from a lower source address: answer at once with an advert and a GARP burst, stay MASTER', () => {
    const { machine, nowMs } = asMaster({ sourceAddress: ip('10.0.0.53'), unicastPeers: [ip('10.0.0.51'), ip('10.0.0.52')] });
    const actions = machine.handlePacket(nowMs + 100, advertFrom({ priority: 100, source: '10.0.0.51', destination: '10.0.0.53' }));
    expect(types(actions)).toEqual(['send_advert(100)', 'garp']);
    expect(machine.state).toBe('MASTER');
  });
  it('lower priority: answer at once with an advert and a GARP burst, stay MASTER, count the dual master', () => {
    const { machine, nowMs } = asMaster();
    const actions = machine.handlePacket(nowMs + 100, advertFrom({ priority: 99 }));
    expect(types(actions)).toEqual(['send_advert(100)', 'garp']);
    expect(actions.find((a) => a.type === 'garp')).toMatchObject({ why: 'lower_priority_advert' });
    expect(machine.stats.dualMasterSeen).toBe(1);
  });
});

describe('shutdown', () => {
  it('a MASTER sends one advert with priority 0, then removes its VIPs', () => {
    const { machine, nowMs } = asMaster();
    const actions = machine.shutdown(nowMs + 10);
    expect(types(actions)).toEqual(['send_advert(0)', 'remove_vips', 'transition(MASTER->INIT)']);
    expect(machine.stats.priorityZeroSent).toBe(1);
    expect(machine.nextDeadline()).toBe(Number.POSITIVE_INFINITY);
  });
  it('a BACKUP sends nothing', () => {
    const machine = started();
    expect(types(machine.shutdown(10))).toEqual(['transition(BACKUP->INIT)']);
  });
});

describe('FAULT', () => {
  it('a fault while MASTER sends priority 0, removes VIPs and ignores adverts; clearing it goes BACKUP with a full Master_Down', () => {
    const { machine, nowMs } = asMaster();
    const actions = machine.setFault(nowMs + 10, 'interface:ens32', true);
    expect(types(actions)).toEqual(['send_advert(0)', 'remove_vips', 'transition(MASTER->FAULT)']);
    expect(machine.nextDeadline()).toBe(Number.POSITIVE_INFINITY); // no adverts sent in FAULT
    expect(machine.masterAddress).toBeUndefined();
    const dropped = machine.handlePacket(nowMs + 20, advertFrom({ priority: 200 }));
    expect(dropped).toEqual([{ type: 'drop', reason: 'not_ready', source: undefined }]);
    expect(machine.stats.dropped.not_ready).toBe(1);
    const back = machine.setFault(nowMs + 30, 'interface:ens32', false);
    expect(types(back)).toEqual(['transition(FAULT->BACKUP)']);
    expect(machine.nextDeadline()).toBe(nowMs + 30 + 3609);
  });
  it('a fault while BACKUP sends nothing', () => {
    const machine = started();
    expect(types(machine.setFault(5, 'interface:ens32', true))).toEqual(['transition(BACKUP->FAULT)']);
  });
  it('a fault known before start starts in FAULT', () => {
    const machine = new VrrpMachine(seedConfig());
    machine.setFault(0, 'interface:ens32', true);
    machine.start(0);
    expect(machine.state).toBe('FAULT');
  });
  it('FAULT stays while any cause remains', () => {
    const machine = started();
    machine.setFault(1, 'a', true);
    machine.setFault(2, 'b', true);
    machine.setFault(3, 'a', false);
    expect(machine.state).toBe('FAULT');
    machine.setFault(4, 'b', false);
    expect(machine.state).toBe('BACKUP');
  });
});

describe('tracking and effective priority', () => {
  const check = { name: 'script:check', weight: -20, reverse: false };
  it('weight < 0 contributes w while failing', () => {
    const machine = started({ trackers: [check] });
    machine.setTrackerStatus(1, 'script:check', 'failed');
    expect(machine.effectivePriority).toBe(80);
    machine.setTrackerStatus(2, 'script:check', 'ok');
    expect(machine.effectivePriority).toBe(100);
  });
  it('weight > 0 contributes w while succeeding', () => {
    const machine = started({ trackers: [{ name: 'up', weight: 10, reverse: false }] });
    machine.setTrackerStatus(1, 'up', 'ok');
    expect(machine.effectivePriority).toBe(110);
    machine.setTrackerStatus(2, 'up', 'failed');
    expect(machine.effectivePriority).toBe(100);
  });
  it('reverse flips the sign', () => {
    const machine = started({ trackers: [{ name: 'r', weight: -20, reverse: true }] });
    machine.setTrackerStatus(1, 'r', 'failed');
    expect(machine.effectivePriority).toBe(120);
  });
  it('a weighted tracker contributes nothing until its first result', () => {
    const machine = started({ trackers: [check] });
    expect(machine.getTrackerStatus('script:check')).toBe('unknown');
    expect(machine.effectivePriority).toBe(100);
  });
  it('the effective priority is clamped to 1..254', () => {
    const low = started({ priority: 10, trackers: [{ name: 'a', weight: -253, reverse: false }] });
    low.setTrackerStatus(1, 'a', 'failed');
    expect(low.effectivePriority).toBe(1);
    const high = started({ priority: 250, trackers: [{ name: 'a', weight: 253, reverse: false }] });
    high.setTrackerStatus(1, 'a', 'ok');
    expect(high.effectivePriority).toBe(254);
  });
  it('the address owner stays at 255', () => {
    const machine = started({ priority: 255, trackers: [{ name: 'a', weight: -20, reverse: false }] });
    machine.setTrackerStatus(1, 'a', 'failed');
    expect(machine.effectivePriority).toBe(255);
  });
  it('weight 0 failing puts the instance in FAULT, recovering goes BACKUP', () => {
    const machine = started({ trackers: [{ name: 'script:check', weight: 0, reverse: false }] });
    machine.setTrackerStatus(1, 'script:check', 'failed');
    expect(machine.state).toBe('FAULT');
    expect(machine.faultCauses).toEqual(['script:check']);
    machine.setTrackerStatus(2, 'script:check', 'ok');
    expect(machine.state).toBe('BACKUP');
  });
  it('a priority change takes effect in the next periodic advert', () => {
    const { machine, nowMs } = asMaster({ trackers: [check], garpMasterDelayMs: 0 });
    expect(sentPriorities(machine.setTrackerStatus(nowMs + 10, 'script:check', 'failed'))).toEqual([]);
    expect(sentPriorities(machine.handleTimeout(nowMs + 1000))).toEqual([80]);
  });
  it('in BACKUP the Master_Down timer uses the new skew', () => {
    const machine = started({ trackers: [check] });
    machine.setTrackerStatus(1, 'script:check', 'failed');
    machine.handlePacket(1000, advertFrom({ priority: 150 }));
    expect(machine.nextDeadline()).toBe(1000 + masterDownIntervalMs(1, 80));
  });
  it('an unknown tracker name is API misuse and throws', () => {
    expect(() => started().setTrackerStatus(1, 'nope', 'ok')).toThrow(/no tracker/);
  });
  it('THE TRAP: with nopreempt, a weighted tracker that lowers the master never moves the VIP', () => {
    // The backup (priority 99, nopreempt) hears the master, whose check failed: 100 - 20 = 80.
    const backup = started({ priority: 99, initialState: 'BACKUP', nopreempt: true, sourceAddress: ip('10.0.0.52'), unicastPeers: [ip('10.0.0.51'), ip('10.0.0.53')] });
    for (let t = 1000; t <= 60_000; t += 1000) {
      backup.handlePacket(t, advertFrom({ priority: 80, source: '10.0.0.51', destination: '10.0.0.52' }));
      backup.handleTimeout(t);
    }
    expect(backup.state).toBe('BACKUP');
  });
});

describe('virtual addresses removed behind our back', () => {
  it('a MASTER gives them up and comes back after one Skew_Time', () => {
    const { machine, nowMs } = asMaster();
    const actions = machine.handleVirtualAddressesMissing(nowMs + 100);
    expect(types(actions)).toEqual(['remove_vips', 'transition(MASTER->BACKUP)']);
    expect(machine.nextDeadline()).toBe(nowMs + 100 + 609);
    const back = machine.handleTimeout(nowMs + 709);
    expect(types(back)).toContain('add_vips');
    expect(machine.state).toBe('MASTER');
  });
});

describe('receive checks feed the drop counters', () => {
  it('a packet with the wrong password is dropped and counted by reason', () => {
    const machine = started();
    const other = seedConfig({ authData: new Uint8Array([0x61, 0x62, 0, 0, 0, 0, 0, 0]) });
    const actions = machine.handlePacket(10, advertFrom({ config: other, destination: '10.0.0.51' }));
    expect(actions).toMatchObject([{ type: 'drop', reason: 'auth_failure' }]);
    expect(machine.stats.dropped.auth_failure).toBe(1);
    expect(machine.stats.advertsReceived).toBe(0);
  });
  it('a unicast advert from a source that is not a peer is dropped by default', () => {
    const machine = started();
    const actions = machine.handlePacket(10, advertFrom({ source: '10.0.0.99', priority: 200 }));
    expect(actions).toMatchObject([{ type: 'drop', reason: 'unknown_peer' }]);
    expect(machine.nextDeadline()).toBe(3609);
  });
});

describe('reconfigure (reload)', () => {
  it('an unchanged configuration keeps state and timers: no advert, no VIP change', () => {
    const { machine, nowMs } = asMaster({ garpMasterDelayMs: 0 });
    const deadline = machine.nextDeadline();
    const actions = machine.reconfigure(nowMs + 10, seedConfig({ garpMasterDelayMs: 0 }));
    expect(types(actions)).toEqual([]);
    expect(machine.state).toBe('MASTER');
    expect(machine.nextDeadline()).toBe(deadline);
  });
  it('a changed priority takes effect in the next periodic advert', () => {
    const { machine, nowMs } = asMaster({ garpMasterDelayMs: 0 });
    expect(sentPriorities(machine.reconfigure(nowMs + 10, seedConfig({ priority: 150, garpMasterDelayMs: 0 })))).toEqual([]);
    expect(sentPriorities(machine.handleTimeout(nowMs + 1000))).toEqual([150]);
  });
  it('trackers that remain keep their status; new ones start unknown', () => {
    const check = { name: 'script:check', weight: -20, reverse: false };
    const machine = started({ trackers: [check] });
    machine.setTrackerStatus(1, 'script:check', 'failed');
    machine.reconfigure(2, seedConfig({ trackers: [check, { name: 'script:other', weight: -5, reverse: false }] }));
    expect(machine.getTrackerStatus('script:check')).toBe('failed');
    expect(machine.getTrackerStatus('script:other')).toBe('unknown');
    expect(machine.effectivePriority).toBe(80);
  });
  it('removing the failing weight-0 tracker leaves FAULT', () => {
    const machine = started({ trackers: [{ name: 'script:check', weight: 0, reverse: false }] });
    machine.setTrackerStatus(1, 'script:check', 'failed');
    expect(machine.state).toBe('FAULT');
    machine.reconfigure(2, seedConfig());
    expect(machine.state).toBe('BACKUP');
  });
  it('a shorter advert_int is used at once by a MASTER', () => {
    const { machine, nowMs } = asMaster({ advertIntervalCs: 500, garpMasterDelayMs: 0 });
    machine.reconfigure(nowMs + 10, seedConfig({ advertIntervalCs: 100, garpMasterDelayMs: 0 }));
    expect(machine.nextDeadline()).toBe(nowMs + 1010);
  });
  it('changing the VRID is refused', () => {
    expect(() => started().reconfigure(1, seedConfig({ virtualRouterId: 7 }))).toThrow(/VRID/);
  });
});

describe('VRRPv3 (RFC 5798; docs/protocol.md#vrrpv3-timers)', () => {
  /** A VRRPv3 instance at 0.1 s like the seed's master1 (no authentication: VRRPv3 has none). */
  const V3: Partial<InstanceConfig> = { version: 3, advertIntervalCs: 10, authType: 0, authData: new Uint8Array(8) };
  const v3 = (overrides: Partial<InstanceConfig> = {}): Partial<InstanceConfig> => ({ ...V3, ...overrides });
  const logsOf = (actions: Action[]): string[] => actions.flatMap((a) => (a.type === 'log' ? [`${a.event}: ${a.detail ?? ''}`] : []));

  it("Skew_Time and Master_Down_Interval are keepalived's, to the microsecond", () => {
    expect(skewTimeV3Ms(99, 10)).toBe(61.328);
    expect(masterDownIntervalV3Ms(10, 99)).toBe(361.328);
    expect(skewTimeV3Ms(98, 10)).toBe(61.718);
    expect(skewTimeV3Ms(99, 100)).toBe(613.281);
    expect(masterDownIntervalV3Ms(4095, 100)).toBe(147_803.906);
    expect(masterDownIntervalV3Ms(1, 254)).toBe(30.078);
  });

  it('a BACKUP starts with its own interval: priority 99 at 0.1 s takes over 361.328 ms after start', () => {
    const machine = started(v3({ priority: 99 }), 1000);
    expect(machine.nextDeadline()).toBe(1000 + 361.328);
    expect(machine.masterAdverIntervalMs).toBe(100);
  });

  it('a MASTER sends every advert_int, exact at 10 ms (0.01 s: 10 ms apart; 0.25 s: 250 ms)', () => {
    for (const cs of [1, 25]) {
      const { machine, nowMs } = asMaster(v3({ advertIntervalCs: cs, garpMasterDelayMs: 0 }));
      const sent: number[] = [];
      for (let i = 0; i < 5; i++) {
        const due = machine.nextDeadline();
        // Microseconds: the deadlines are sums of floating-point milliseconds.
        if (sentPriorities(machine.handleTimeout(due)).length > 0) sent.push(Math.round((due - nowMs) * 1000) / 1000);
      }
      expect(sent).toEqual([1, 2, 3, 4, 5].map((k) => k * cs * 10));
    }
  });

  it('a BACKUP learns the master\'s interval from an advert it obeys and derives Master_Down from it (master at 1 s, we at 0.1 s)', () => {
    const machine = started(v3({ priority: 99 }));
    const actions = machine.handlePacket(50, advertFrom({ priority: 100, intervalCs: 100, config: machine.config }));
    expect(machine.masterAdverIntervalMs).toBe(1000);
    expect(machine.nextDeadline()).toBe(50 + masterDownIntervalV3Ms(100, 99));
    expect(logsOf(actions)).toEqual(['master_advert_interval_updated: advertisement interval updated from 100ms to 1000ms by master']);
    // The next advert with the same interval says nothing more.
    expect(logsOf(machine.handlePacket(1050, advertFrom({ priority: 100, intervalCs: 100, config: machine.config })))).toEqual([]);
  });

  it('VRRPv2 drops an advert with another interval (interval_mismatch) where VRRPv3 takes it', () => {
    const v2 = started({ priority: 99 });
    v2.handlePacket(50, advertFrom({ priority: 100, config: { ...v2.config, advertIntervalCs: 200 } }));
    expect(v2.stats.dropped.interval_mismatch).toBe(1);
    const three = started(v3({ priority: 99 }));
    three.handlePacket(50, advertFrom({ priority: 100, intervalCs: 37, config: three.config }));
    expect(three.stats.dropped.interval_mismatch).toBe(0);
    expect(three.stats.advertsReceived).toBe(1);
    expect(three.masterAdverIntervalMs).toBe(370);
  });

  it('a lower-priority advert a preempting BACKUP ignores teaches it nothing; with nopreempt or within preempt_delay it does', () => {
    const ignoring = started(v3({ priority: 99 }));
    ignoring.handlePacket(50, advertFrom({ priority: 98, intervalCs: 100, config: ignoring.config }));
    expect(ignoring.masterAdverIntervalMs).toBe(100);
    expect(ignoring.nextDeadline()).toBe(masterDownIntervalV3Ms(10, 99));

    const nopreempt = started(v3({ priority: 99, nopreempt: true, initialState: 'BACKUP' }));
    nopreempt.handlePacket(50, advertFrom({ priority: 98, intervalCs: 100, config: nopreempt.config }));
    expect(nopreempt.masterAdverIntervalMs).toBe(1000);

    const delayed = started(v3({ priority: 99, preemptDelayMs: 5000 }));
    delayed.handlePacket(50, advertFrom({ priority: 98, intervalCs: 100, config: delayed.config }));
    expect(delayed.masterAdverIntervalMs).toBe(1000);
  });

  it('priority 0 sets Master_Down to the Skew_Time of the interval already learnt, not the goodbye\'s', () => {
    const machine = started(v3({ priority: 99 }));
    machine.handlePacket(50, advertFrom({ priority: 100, intervalCs: 100, config: machine.config }));
    machine.handlePacket(60, advertFrom({ priority: 0, intervalCs: 5, config: machine.config }));
    expect(machine.masterAdverIntervalMs).toBe(1000);
    expect(machine.nextDeadline()).toBe(60 + 613.281);
  });

  it('a MASTER that steps down to a higher priority takes that advert\'s interval', () => {
    const { machine, nowMs } = asMaster(v3());
    machine.handlePacket(nowMs + 5, advertFrom({ priority: 101, intervalCs: 30, config: machine.config }));
    expect(machine.state).toBe('BACKUP');
    expect(machine.masterAdverIntervalMs).toBe(300);
    expect(machine.nextDeadline()).toBe(nowMs + 5 + masterDownIntervalV3Ms(30, 100));
  });

  it('the interval is our own again on start, on entering and leaving FAULT, and on becoming MASTER', () => {
    const learnt = (): VrrpMachine => {
      const machine = started(v3({ priority: 99 }));
      machine.handlePacket(50, advertFrom({ priority: 100, intervalCs: 100, config: machine.config }));
      expect(machine.masterAdverIntervalMs).toBe(1000);
      return machine;
    };
    const faulty = learnt();
    faulty.setFault(100, 'interface:ens32', true);
    expect(faulty.masterAdverIntervalMs).toBe(100);
    faulty.setFault(200, 'interface:ens32', false);
    expect(faulty.nextDeadline()).toBe(200 + masterDownIntervalV3Ms(10, 99));

    const master = learnt();
    master.handleTimeout(master.nextDeadline());
    expect(master.state).toBe('MASTER');
    expect(master.masterAdverIntervalMs).toBe(100);
    // A VIP removed behind its back: back after its own Skew_Time.
    const at = master.nextDeadline();
    master.handleVirtualAddressesMissing(at);
    expect(master.nextDeadline()).toBe(at + skewTimeV3Ms(99, 10));
  });

  it('reload keeps a BACKUP\'s learnt interval; a VRRPv2 instance always uses its own', () => {
    const machine = started(v3({ priority: 99 }));
    machine.handlePacket(50, advertFrom({ priority: 100, intervalCs: 100, config: machine.config }));
    machine.reconfigure(60, seedConfig(v3({ priority: 98 })));
    expect(machine.masterAdverIntervalMs).toBe(1000);
    machine.reconfigure(70, seedConfig({ priority: 98, advertIntervalCs: 200 }));
    expect(machine.masterAdverIntervalMs).toBe(2000);
  });

  it('the advert is VRRPv3: 0x31, the interval in centiseconds, no auth data; unicast needs a checksum per peer', () => {
    const { machine, nowMs } = asMaster(v3({ garpMasterDelayMs: 0 }));
    const [send] = machine.handleTimeout(nowMs + 100);
    if (send?.type !== 'send_advert') throw new Error('no advert');
    expect(send.perDestination).toBe(true);
    expect(send.payload.length).toBe(12);
    expect(decodeAdvert(send.payload)).toMatchObject({ ok: true, advert: { version: 3, type: 1, virtualRouterId: 251, priority: 100, reserved: 0, advertIntervalCs: 10, addresses: [ip('10.0.0.50')] } });
    // Computed for the first peer; the engine recomputes it for each destination.
    expect(v3Checksum(send.payload, { source: ip('10.0.0.51'), destination: ip('10.0.0.52') })).toBe(0);
  });

  it('multicast and old_unicast_checksum: one payload, with 224.0.0.18 in the pseudo-header', () => {
    for (const overrides of [{ unicastPeers: [] }, { v3Checksum: 'group' as const }]) {
      const { machine, nowMs } = asMaster(v3({ garpMasterDelayMs: 0, ...overrides }));
      const [send] = machine.handleTimeout(nowMs + 100);
      if (send?.type !== 'send_advert') throw new Error('no advert');
      expect(send.perDestination).toBe(false);
      expect(v3Checksum(send.payload, { source: ip('10.0.0.51'), destination: VRRP_MULTICAST_GROUP })).toBe(0);
    }
  });

  it('auto: an advert with the old unicast checksum is accepted and switches this instance to it, as keepalived does', () => {
    const machine = started(v3({ priority: 101 }));
    expect(machine.v3ChecksumDestination).toBe('destination');
    const actions = machine.handlePacket(10, advertFrom({ priority: 100, checksumDestination: 'group', config: machine.config }));
    expect(machine.stats.dropped.bad_checksum).toBe(0);
    expect(logsOf(actions).filter((l) => l.startsWith('v3_'))).toEqual(['v3_checksum_set_to_old: Setting unicast VRRPv3 checksum to old version (pseudo-header destination 224.0.0.18)']);
    expect(machine.v3ChecksumDestination).toBe('group');
    // From now on the real-destination variant is refused, and our adverts use 224.0.0.18.
    machine.handlePacket(20, advertFrom({ priority: 100, config: machine.config }));
    expect(machine.stats.dropped.bad_checksum).toBe(1);
    machine.handleTimeout(machine.nextDeadline());
    const sends = machine.handleTimeout(machine.nextDeadline()).filter((a) => a.type === 'send_advert');
    expect(sends.map((a) => a.type === 'send_advert' && a.perDestination)).toEqual([false]);
    // A reload that changes the setting forgets the switch.
    machine.reconfigure(5000, seedConfig(v3({ priority: 101, v3Checksum: 'never' })));
    expect(machine.v3ChecksumDestination).toBe('destination');
  });

  it('old_unicast_checksum never: the old variant is a bad_checksum and nothing switches', () => {
    const machine = started(v3({ priority: 101, v3Checksum: 'never' }));
    machine.handlePacket(10, advertFrom({ priority: 100, checksumDestination: 'group', config: machine.config }));
    expect(machine.stats.dropped.bad_checksum).toBe(1);
    expect(machine.v3ChecksumDestination).toBe('destination');
  });

  it('an interval that does not fit the version is a programming error', () => {
    expect(() => new VrrpMachine(seedConfig(v3({ advertIntervalCs: 0 })))).toThrow(RangeError);
    expect(() => new VrrpMachine(seedConfig(v3({ advertIntervalCs: 4096 })))).toThrow(RangeError);
    expect(() => new VrrpMachine(seedConfig({ advertIntervalCs: 150 }))).toThrow(RangeError);
  });
});

// --- driven by the transition table (src/core/transitions.ts, docs/protocol.md#transition-table) ---

/** One input sequence per row of the table that ends in that row's move, for a VRRPv2 or a VRRPv3 instance (`v`). */
const REACH: Record<string, (v: Partial<InstanceConfig>) => Action[]> = {
  'INIT>BACKUP>start': (v) => new VrrpMachine(seedConfig(v)).start(0),
  'INIT>MASTER>address_owner': (v) => new VrrpMachine(seedConfig({ ...v, priority: 255 })).start(0),
  'INIT>FAULT>fault': (v) => {
    const machine = new VrrpMachine(seedConfig(v));
    machine.setFault(0, 'interface:ens32', true);
    return machine.start(0);
  },
  'BACKUP>MASTER>master_down_timer': (v) => {
    const machine = started(v);
    return machine.handleTimeout(machine.nextDeadline());
  },
  'BACKUP>FAULT>fault': (v) => started(v).setFault(5, 'interface:ens32', true),
  'BACKUP>INIT>shutdown': (v) => started(v).shutdown(5),
  'MASTER>BACKUP>higher_priority_advert': (v) => {
    const { machine, nowMs } = asMaster(v);
    return machine.handlePacket(nowMs + 100, advertFrom({ priority: 101, config: machine.config }));
  },
  'MASTER>BACKUP>equal_priority_higher_address': (v) => {
    const { machine, nowMs } = asMaster(v);
    return machine.handlePacket(nowMs + 100, advertFrom({ priority: 100, source: '10.0.0.53', config: machine.config }));
  },
  'MASTER>BACKUP>virtual_address_removed': (v) => {
    const { machine, nowMs } = asMaster(v);
    return machine.handleVirtualAddressesMissing(nowMs + 100);
  },
  'MASTER>FAULT>fault': (v) => {
    const { machine, nowMs } = asMaster({ ...v, trackers: [{ name: 'script:check', weight: 0, reverse: false }] });
    return machine.setTrackerStatus(nowMs + 100, 'script:check', 'failed');
  },
  'MASTER>INIT>shutdown': (v) => {
    const { machine, nowMs } = asMaster(v);
    return machine.shutdown(nowMs + 100);
  },
  'BACKUP>MASTER>sync_group': (v) => started(v).syncTo(5, 'MASTER'),
  'MASTER>BACKUP>sync_group': (v) => {
    const { machine, nowMs } = asMaster(v);
    return machine.syncTo(nowMs + 100, 'BACKUP');
  },
  'FAULT>BACKUP>fault_cleared': (v) => {
    const machine = started(v);
    machine.setFault(5, 'interface:ens32', true);
    return machine.setFault(10, 'interface:ens32', false);
  },
  'FAULT>MASTER>fault_cleared': (v) => {
    const machine = started({ ...v, priority: 255 });
    machine.setFault(5, 'interface:ens32', true);
    return machine.setFault(10, 'interface:ens32', false);
  },
  'FAULT>INIT>shutdown': (v) => {
    const machine = started(v);
    machine.setFault(5, 'interface:ens32', true);
    return machine.shutdown(10);
  },
};

type TransitionAction = Extract<Action, { type: 'transition' }>;

function transitionsIn(actions: Action[]): TransitionAction[] {
  return actions.filter((a): a is TransitionAction => a.type === 'transition');
}

describe('the transition table', () => {
  const tableKeys = TRANSITIONS.map((r) => transitionKey(r.from, r.to, r.reason));

  it('has no duplicate rows', () => {
    expect(new Set(tableKeys).size).toBe(tableKeys.length);
  });

  it('every row has an input sequence here, and no sequence here is for a move the table lacks', () => {
    expect(Object.keys(REACH).sort()).toEqual([...tableKeys].sort());
  });

  const versions: [string, Partial<InstanceConfig>][] = [
    ['VRRPv2', {}],
    ['VRRPv3 at 0.1 s', { version: 3, advertIntervalCs: 10, authType: 0, authData: new Uint8Array(8) }],
  ];
  for (const [label, v] of versions) {
    for (const row of TRANSITIONS) {
      const key = transitionKey(row.from, row.to, row.reason);
      it(`${label}: ${row.from} -> ${row.to} (${row.reason}) is reachable: ${row.rule}`, () => {
        const reach = REACH[key];
        expect(reach, `no input sequence reaches ${key}`).toBeDefined();
        const moves = transitionsIn(reach!(v));
        expect(moves.map((m) => transitionKey(m.from, m.to, m.reason))).toEqual([key]);
      });
    }
  }
});

// Random inputs: the receiver is 10.0.0.52 so that one peer is below it and one above (ties).
const RECEIVER = '10.0.0.52';
const PEERS = ['10.0.0.51', '10.0.0.53'];
const STRANGER = '10.0.0.99';
const TRACKER_POOL: TrackerSpec[] = [
  { name: 'script:down', weight: 0, reverse: false },
  { name: 'script:down_reversed', weight: 0, reverse: true },
  { name: 'script:minus', weight: -20, reverse: false },
  { name: 'script:plus', weight: 10, reverse: true },
];

const configArb = fc
  .record({
    priority: fc.oneof(fc.constant(255), fc.constantFrom(98, 99, 100, 101), fc.integer({ min: 1, max: 254 })),
    version: fc.constantFrom(2 as const, 3 as const),
    advertIntervalSec: fc.integer({ min: 1, max: 3 }),
    v3IntervalCs: fc.constantFrom(1, 10, 100, 250),
    v3Checksum: fc.constantFrom('auto' as const, 'group' as const, 'never' as const),
    initialState: fc.constantFrom('MASTER' as const, 'BACKUP' as const),
    nopreempt: fc.boolean(),
    preemptDelayMs: fc.constantFrom(0, 2000, 10_000),
    multicast: fc.boolean(),
    skipCheckAdvAddr: fc.boolean(),
    garpMasterDelayMs: fc.constantFrom(0, 5000),
    garpMasterRefreshMs: fc.constantFrom(0, 3000),
    trackers: fc.subarray(TRACKER_POOL),
  })
  .map(({ multicast, trackers, version, advertIntervalSec, v3IntervalCs, ...rest }): InstanceConfig =>
    seedConfig({
      ...rest,
      version,
      advertIntervalCs: version === 3 ? v3IntervalCs : advertIntervalSec * 100,
      sourceAddress: ip(RECEIVER),
      unicastPeers: multicast ? [] : PEERS.map(ip),
      // The config layer refuses weights on an address owner (docs/protocol.md#tracking-and-effective-priority).
      trackers: rest.priority === 255 ? trackers.filter((t) => t.weight === 0) : trackers,
    }),
  );

type Command =
  | { kind: 'wait'; ms: number }
  | { kind: 'deadline' }
  | {
      kind: 'advert';
      dt: number;
      from: string;
      priority: 'ours' | 'above' | 'below' | number;
      flaw: 'none' | 'password' | 'interval' | 'ttl' | 'truncated' | 'old_checksum' | 'version';
      /** VRRPv3: the sender's interval (centiseconds); undefined = the receiver's. */
      intervalCs: number | undefined;
    }
  | { kind: 'tracker'; dt: number; index: number; status: TrackerStatus }
  | { kind: 'fault'; dt: number; cause: string; active: boolean }
  | { kind: 'vips_missing'; dt: number }
  | { kind: 'shutdown'; dt: number }
  | { kind: 'start'; dt: number }
  | { kind: 'reconfigure'; dt: number; config: InstanceConfig };

const dt = fc.integer({ min: 0, max: 1500 });
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 4000 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('deadline' as const) }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('advert' as const),
      dt,
      from: fc.constantFrom(...PEERS, PEERS[0]!, PEERS[1]!, STRANGER, RECEIVER),
      priority: fc.oneof(fc.constantFrom('ours' as const, 'above' as const, 'below' as const, 0), fc.integer({ min: 0, max: 255 })),
      flaw: fc.constantFrom('none' as const, 'none' as const, 'none' as const, 'password' as const, 'interval' as const, 'ttl' as const, 'truncated' as const, 'old_checksum' as const, 'version' as const),
      intervalCs: fc.option(fc.constantFrom(0, 1, 10, 100, 4095), { nil: undefined }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('tracker' as const), dt, index: fc.nat(), status: fc.constantFrom<TrackerStatus>('ok', 'failed', 'unknown') }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('fault' as const), dt, cause: fc.constantFrom('interface:ens32', 'no_source_address'), active: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('vips_missing' as const), dt }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('shutdown' as const), dt }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('start' as const), dt }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reconfigure' as const), dt, config: configArb }) },
);

/** What can happen before start: a fault or a tracker result already known. */
const beforeStartArb: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constant('tracker' as const), dt: fc.constant(0), index: fc.nat(), status: fc.constantFrom<TrackerStatus>('ok', 'failed') }),
  fc.record({ kind: fc.constant('fault' as const), dt: fc.constant(0), cause: fc.constantFrom('interface:ens32', 'no_source_address'), active: fc.boolean() }),
);

/** The packet a command describes, as the receiver with `config` and priority `ours` would get it. */
function packetFor(command: Extract<Command, { kind: 'advert' }>, config: InstanceConfig, ours: number): Uint8Array {
  const priority =
    command.priority === 'ours' ? ours : command.priority === 'above' ? Math.min(255, ours + 1) : command.priority === 'below' ? Math.max(1, ours - 1) : command.priority;
  const base = { source: command.from, priority, config, ...(command.intervalCs !== undefined ? { intervalCs: command.intervalCs } : {}) };
  switch (command.flaw) {
    case 'old_checksum':
      return advertFrom({ ...base, checksumDestination: 'group' });
    case 'version':
      // The other version's advert: dropped as bad_version (checks.ts).
      return advertFrom({ ...base, config: { ...config, version: config.version === 3 ? 2 : 3, advertIntervalCs: config.version === 3 ? 100 : config.advertIntervalCs } });
    case 'password':
      return advertFrom({ source: command.from, priority, config: { ...config, authData: new Uint8Array([0x77, 0, 0, 0, 0, 0, 0, 0]) } });
    case 'interval':
      return advertFrom({ source: command.from, priority, config: { ...config, advertIntervalCs: config.advertIntervalCs + 100 } });
    case 'ttl':
      return advertFrom({ source: command.from, priority, config, ttl: 64 });
    case 'truncated': {
      const whole = advertFrom(base);
      return whole.subarray(0, whole.length - 3);
    }
    default:
      return advertFrom(base);
  }
}

describe('no move outside the table, whatever the inputs', () => {
  const allowed = new Set(TRANSITIONS.map((r) => transitionKey(r.from, r.to, r.reason)));

  it('random packets, timeouts, tracker changes, faults, reloads and shutdowns (fast-check)', () => {
    const left = new Set<VrrpState>();
    const entered = new Set<VrrpState>();
    fc.assert(
      fc.property(configArb, fc.array(beforeStartArb, { maxLength: 3 }), fc.array(commandArb, { minLength: 10, maxLength: 80 }), (config, early, commands) => {
        const machine = new VrrpMachine(config);
        let nowMs = 0;
        let running = false;
        const step = (actions: Action[], before: VrrpState): void => {
          let state = before;
          for (const move of transitionsIn(actions)) {
            const key = transitionKey(move.from, move.to, move.reason);
            if (!allowed.has(key)) throw new Error(`move outside the table: ${key}`);
            if (move.from !== state) throw new Error(`move ${key} claims to start from ${move.from}, but the machine was ${state}`);
            left.add(move.from);
            entered.add(move.to);
            state = move.to;
          }
          if (machine.state !== state) throw new Error(`machine is ${machine.state} after moves ending in ${state}`);
        };
        const apply = (command: Command): Action[] => {
          if ('dt' in command) nowMs += command.dt;
          switch (command.kind) {
            case 'wait':
              nowMs += command.ms;
              return machine.handleTimeout(nowMs);
            case 'deadline': {
              const due = machine.nextDeadline();
              if (Number.isFinite(due)) nowMs = Math.max(nowMs, due);
              return machine.handleTimeout(nowMs);
            }
            case 'advert':
              return machine.handlePacket(nowMs, packetFor(command, machine.config, machine.effectivePriority));
            case 'tracker': {
              const trackers = machine.config.trackers;
              if (trackers.length === 0) return [];
              return machine.setTrackerStatus(nowMs, trackers[command.index % trackers.length]!.name, command.status);
            }
            case 'fault':
              return machine.setFault(nowMs, command.cause, command.active);
            case 'vips_missing':
              return machine.handleVirtualAddressesMissing(nowMs);
            case 'shutdown':
              running = false;
              return machine.shutdown(nowMs);
            case 'start':
              if (running) return [];
              running = true;
              return machine.start(nowMs);
            case 'reconfigure':
              return machine.reconfigure(nowMs, command.config);
          }
        };
        for (const command of early) step(apply(command), 'INIT'); // faults and results known at start
        running = true;
        step(machine.start(nowMs), 'INIT');
        for (const command of commands) {
          const before = machine.state;
          step(apply(command), before);
        }
      }),
      { numRuns: 300 },
    );
    // The inputs are not degenerate: they move the machine into and out of every state (a
    // property that never produced a move could not fail).
    expect([...left].sort()).toEqual(['BACKUP', 'FAULT', 'INIT', 'MASTER']);
    expect([...entered].sort()).toEqual(['BACKUP', 'FAULT', 'INIT', 'MASTER']);
  });
});

describe('sync group membership (docs/protocol.md#sync-groups)', () => {
  const logsOf = (actions: Action[]): string[] => actions.flatMap((a) => (a.type === 'log' ? [`${a.event}: ${a.detail ?? ''}`] : []));
  it('a member whose Master_Down_Timer fires while the gate is shut stays BACKUP, wants MASTER, and waits another Master_Down_Interval', () => {
    const machine = new VrrpMachine(seedConfig({ initialState: 'BACKUP' }));
    let open = false;
    machine.setSyncGate(() => open);
    machine.start(0);
    expect(machine.wantsMaster).toBe(false);
    const firstDue = machine.nextDeadline();
    const held = machine.handleTimeout(firstDue);
    expect(transitionsIn(held)).toEqual([]);
    expect(logsOf(held)[0]).toMatch(/^sync_group_hold/);
    expect(machine.state).toBe('BACKUP');
    expect(machine.wantsMaster).toBe(true);
    expect(machine.nextDeadline()).toBe(firstDue + firstDue);
    open = true;
    expect(transitionsIn(machine.handleTimeout(machine.nextDeadline())).map((m) => m.reason)).toEqual(['master_down_timer']);
  });

  it('an obeyed advert takes the wish for MASTER back; a priority-0 advert does not', () => {
    const machine = new VrrpMachine(seedConfig({ priority: 100, initialState: 'BACKUP' }));
    machine.setSyncGate(() => false);
    machine.start(0);
    machine.handleTimeout(machine.nextDeadline());
    expect(machine.wantsMaster).toBe(true);
    machine.handlePacket(5000, advertFrom({ priority: 0, config: machine.config }));
    expect(machine.wantsMaster).toBe(true);
    machine.handlePacket(5001, advertFrom({ priority: 101, config: machine.config }));
    expect(machine.wantsMaster).toBe(false);
  });

  it('with state MASTER a member starts wanting MASTER and waits one advert interval plus the smallest skew', () => {
    const v2 = new VrrpMachine(seedConfig({ initialState: 'MASTER' }));
    v2.setSyncGate(() => true);
    v2.start(0);
    expect(v2.wantsMaster).toBe(true);
    expect(v2.nextDeadline()).toBe(1000 + 3);
    const v3m = new VrrpMachine(seedConfig({ initialState: 'MASTER', version: 3, advertIntervalCs: 10, authType: 0, authData: new Uint8Array(8) }));
    v3m.setSyncGate(() => true);
    v3m.start(0);
    expect(v3m.nextDeadline()).toBeCloseTo(100 + 0.39, 2);
    // Outside a sync group `state MASTER` changes nothing (keepalived 2.x).
    const alone = new VrrpMachine(seedConfig({ initialState: 'MASTER' }));
    alone.start(0);
    expect(alone.nextDeadline()).toBe(3000 + 609);
  });

  it('syncTo BACKUP from MASTER sends no goodbye, only the parting advert at its own priority, and removes the VIPs', () => {
    const { machine, nowMs } = asMaster({});
    const actions = machine.syncTo(nowMs + 10, 'BACKUP');
    // Not a priority-0 goodbye: the parting advert a step-down on a higher priority sends too, so
    // that the winner re-sends its GARP/NA burst.
    expect(actions.filter((a) => a.type === 'send_advert').map((a) => a.priority)).toEqual([machine.effectivePriority]);
    expect(actions.map((a) => a.type)).toEqual(['send_advert', 'remove_vips', 'transition']);
    expect(machine.wantsMaster).toBe(false);
    expect(machine.syncTo(nowMs + 20, 'BACKUP')).toEqual([]);
  });
});
