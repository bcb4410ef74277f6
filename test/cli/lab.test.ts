/** `vrrpd lab`'s words and verdicts, without building a lab (test/netns/lab-demo.test.ts runs it). */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/args.js';
import { labOptions } from '../../src/cli/lab.js';
import { parseConfigText } from '../../src/config/load.js';
import { masterDownIntervalV3Ms } from '../../src/core/timers.js';
import { keepalivedConfig, keepalivedConfV3, vrrpdConfig, vrrpdConfigExt } from '../../src/lab/demo-nodes.js';
import { protocolFloor } from '../../src/lab/floor.js';
import { describeCluster, electionRow } from '../../src/lab/lab.js';
import { splitTime, VipWatch, type ProbeReply } from '../../src/lab/observers.js';
import { formatSummary, type SummaryRow } from '../../src/lab/timeline.js';

const ALL = new Set(['m1', 'm2', 'm3']);

describe('the header says what runs on each master', () => {
  it('no node runs vrrpd: no word of the recommended config', () => {
    const header = describeCluster({ configSet: 'recommended', keepalivedNodes: ALL, preemptDelayS: 3 });
    expect(header).toBe(
      "vrrpd lab, VIP 10.0.0.50:\n  master1, master2, master3: keepalived with the seed's keepalived.conf (examples/keepalived/preempt: killall -0 kube-apiserver every 2 s, weight -20)\n",
    );
    expect(header).not.toMatch(/recommended|readyz/);
  });

  it('a mixed cluster: one line per kind of node', () => {
    const header = describeCluster({ configSet: 'recommended', keepalivedNodes: new Set(['m1']), preemptDelayS: 3 });
    expect(header.split('\n')).toEqual([
      'vrrpd lab, VIP 10.0.0.50:',
      "  master1: keepalived with the seed's keepalived.conf (examples/keepalived/preempt: killall -0 kube-apiserver every 2 s, weight -20)",
      '  master2, master3: vrrpd with the recommended config (examples/recommended: https /readyz every 200 ms, weight 0; preempt_delay 3 s instead of 30 s)',
      '',
    ]);
    expect(describeCluster({ configSet: 'seed', keepalivedNodes: new Set(), preemptDelayS: 3 })).toContain('master1, master2, master3: vrrpd with the seed config (examples/preempt');
    expect(describeCluster({ configSet: 'recommended', keepalivedNodes: new Set(), preemptDelayS: 30 })).toContain('weight 0; preempt_delay 30 s)');
  });
});

describe('the summary table', () => {
  it('labels every column, the verdict too', () => {
    const rows: SummaryRow[] = [
      { scenario: 'election', step: 'cluster started; VIP answers after 3.80 s', outage_ms: null, from: null, to: 'master1', ok: true },
      { scenario: 'apiserver', step: "master1's kube-apiserver killed", outage_ms: 4600, from: 'master1', to: 'master2', ok: false, note: 'too slow' },
    ];
    const [header, rule, first, second] = formatSummary(rows).split('\n');
    const columns = (line: string): string[] => line.split(/ {2,}/);
    expect(columns(header!)).toEqual(['scenario', 'what happened', 'client outage', 'VIP held by', 'result']);
    expect(columns(rule!)).toHaveLength(5);
    expect(columns(first!).at(-1)).toBe('ok');
    expect(columns(second!).at(-1)).toBe('FAILED: too slow');
  });

  it('v3 config set: the failover timed from the wire stands next to its floor, and the floor is spelled out', () => {
    const rows: SummaryRow[] = [
      { scenario: 'election', step: 'cluster started; VIP answers after 1.20 s', outage_ms: null, from: null, to: 'master1', ok: true },
      { scenario: 'crash', step: "master1's link down", outage_ms: 300, from: 'master1', to: 'master2', ok: true, failover_ms: 363.4, floor_ms: 361.328, floor: 'Master_Down: 3 x 0.1 s + Skew_Time(99) 61.328 ms, VRRPv3' },
      { scenario: 'crash', step: "master1's link back; preemption", outage_ms: 20, from: 'master2', to: 'master1', ok: true },
    ];
    const lines = formatSummary(rows).split('\n');
    const columns = (line: string): string[] => line.split(/ {2,}/);
    expect(columns(lines[0]!)).toEqual(['scenario', 'what happened', 'client outage', 'failover on the wire (floor)', 'VIP held by', 'result']);
    expect(columns(lines[3]!)).toEqual(['crash', "master1's link down", '300 ms', '363.4 ms (Master_Down 361.3 ms, +2.1)', 'master1 -> master2', 'ok']);
    expect(columns(lines[2]!)[3]).toBe('-');
    expect(lines.slice(5)).toEqual([
      '',
      "failover on the wire: the old master's last advert that mattered to the new master's first; floor:",
      '  Master_Down: 3 x 0.1 s + Skew_Time(99) 61.328 ms, VRRPv3',
      '',
    ]);
  });
});

describe('the v3 config set', () => {
  const instance = (text: string) => {
    const loaded = parseConfigText(text, 'x');
    if (!loaded.ok) throw new Error(loaded.errors.map((e) => e.message).join('; '));
    return { instance: Object.values(loaded.config.vrrp_instance)[0]!, warnings: loaded.warnings };
  };

  it("switches the recommended config and the seed's keepalived.conf to VRRPv3 at 0.1 s without authentication; both load without a warning", () => {
    for (const index of [1, 2, 3] as const) {
      for (const text of [vrrpdConfig('v3', index, '/tmp/ca.crt'), keepalivedConfig(index, 'v3')]) {
        const { instance: vi, warnings } = instance(text);
        expect(vi).toMatchObject({ version: 3, advert_int: 0.1, priority: 101 - index });
        expect(vi.authentication).toBeUndefined();
        expect(warnings).toEqual([]);
      }
      // The other sets are as they were: VRRPv2 at 1 s with PASS.
      for (const text of [vrrpdConfig('recommended', index, '/tmp/ca.crt'), keepalivedConfig(index)]) {
        expect(instance(text).instance).toMatchObject({ version: 2, advert_int: 1, authentication: { auth_type: 'PASS' } });
      }
    }
  });

  it('the floor comes from the configs: Master_Down 361.328 ms after a crash, Skew_Time 61.328 ms after a goodbye (priority 99 at 0.1 s)', () => {
    const m1 = vrrpdConfig('v3', 1, '/tmp/ca.crt');
    const m2 = vrrpdConfig('v3', 2, '/tmp/ca.crt');
    expect(protocolFloor(m2, m1, false)).toEqual({ ms: masterDownIntervalV3Ms(10, 99), name: 'Master_Down', formula: '3 x 0.1 s + Skew_Time(99) 61.328 ms, VRRPv3' });
    expect(protocolFloor(m2, m1, false).ms).toBe(361.328);
    expect(protocolFloor(m2, m1, true)).toMatchObject({ ms: 61.328, name: 'Skew_Time' });
    // VRRPv2 (the seed): 3 x 1 s + 613 ms, whatever the master's interval.
    expect(protocolFloor(keepalivedConfig(2), keepalivedConfig(1), false)).toMatchObject({ ms: 3_613, name: 'Master_Down' });
    // A VRRPv3 backup learns the master's interval: a master at 0.5 s gives 3 x 0.5 s + Skew_Time scaled by it.
    expect(protocolFloor(keepalivedConfig(3, 'v3'), keepalivedConfV3(keepalivedConfig(1), 0.5), false).ms).toBe(masterDownIntervalV3Ms(50, 98));
  });

  it('the header names the version and the interval', () => {
    expect(describeCluster({ configSet: 'v3', keepalivedNodes: new Set(['m3']), preemptDelayS: 3 }).split('\n')).toEqual([
      'vrrpd lab, VIP 10.0.0.50:',
      '  master1, master2: vrrpd with the recommended config switched to VRRPv3, advert_int 0.1, no authentication (examples/recommended: https /readyz every 200 ms, weight 0; preempt_delay 3 s instead of 30 s)',
      "  master3: keepalived with the seed's keepalived.conf switched to VRRPv3, advert_int 0.1, no authentication (examples/keepalived/preempt: killall -0 kube-apiserver every 2 s, weight -20)",
      '',
    ]);
  });
});

describe('the election is judged by who holds the VIP once it settled', () => {
  const reply = (node: string, timeMs: number, prevNode: string | null = null, prevTimeMs: number | null = null): ProbeReply => ({ node, timeMs, prevNode, prevTimeMs });

  it('master1 answers first: ok', () => {
    expect(electionRow(1_000, reply('master1', 4_800), reply('master1', 4_800), 'master1', 25_000)).toEqual({
      scenario: 'election',
      step: 'cluster started; VIP answers after 3.80 s',
      outage_ms: null,
      from: null,
      to: 'master1',
      ok: true,
    });
  });

  it('another master answers first and master1 preempts: ok, and the step says so', () => {
    const row = electionRow(1_000, reply('master2', 4_800), reply('master1', 5_800, 'master2', 5_770), 'master1', 25_000);
    expect(row).toEqual({
      scenario: 'election',
      step: 'cluster started; master2 answers after 3.80 s, master1 preempts after 4.80 s',
      outage_ms: 30,
      from: 'master2',
      to: 'master1',
      ok: true,
    });
  });

  it('master1 never takes the VIP: FAILED, naming who holds it', () => {
    const row = electionRow(1_000, reply('master2', 4_800), undefined, 'master1', 25_000);
    expect(row).toMatchObject({ to: 'master2', ok: false, note: 'expected master1, which did not take the VIP within 25 s' });
  });
});

describe('lab options', () => {
  it('defaults, and the values the README and --help name', () => {
    expect(labOptions({})).toEqual({ scenarios: ['election', 'apiserver', 'graceful', 'crash'], configSet: 'recommended', keepalivedNodes: new Set(), preemptDelayS: 3, json: false });
    expect(labOptions({ keepalived: 'm1', scenario: 'apiserver', 'preempt-delay': '30' })).toMatchObject({ keepalivedNodes: new Set(['m1']), scenarios: ['apiserver'], preemptDelayS: 30 });
    expect(labOptions({ keepalived: 'master1,m2,master3' }).keepalivedNodes).toEqual(ALL);
    expect(labOptions({ 'config-set': 'v3', scenario: 'crash' })).toMatchObject({ configSet: 'v3', scenarios: ['crash'] });
  });

  it('a bad value is a usage error that names the option', () => {
    for (const [values, message] of [
      [{ scenario: 'meteor' }, /^--scenario must be one of election, apiserver, graceful, crash; got 'meteor'$/],
      [{ 'config-set': 'best' }, /^--config-set must be recommended, seed, v3 or dual-stack; got 'best'$/],
      [{ keepalived: 'm4' }, /^--keepalived: unknown node 'm4'/],
      [{ 'preempt-delay': 'soon' }, /^--preempt-delay must be a number of seconds from 0 to 1000; got 'soon'$/],
      [{ 'preempt-delay': '-1' }, /^--preempt-delay must be/],
      [{ 'preempt-delay': '' }, /^--preempt-delay must be/],
    ] as const) {
      expect(() => labOptions(values), JSON.stringify(values)).toThrow(UsageError);
      expect(() => labOptions(values)).toThrow(message);
    }
  });
});

describe('the dual-stack config set', () => {
  it('names both VIPs and the sync group in the header; the summary gets the IPv6 outage and how long the VIPs were apart', () => {
    const header = describeCluster({ configSet: 'dual-stack', keepalivedNodes: new Set(['m3']), preemptDelayS: 3 }).split('\n');
    expect(header[0]).toBe('vrrpd lab, VIPs 10.0.0.50 and fd00::50:');
    expect(header[1]).toBe("  master1, master2: vrrpd with examples/dual-stack's keepalived.conf (10.0.0.50 and fd00::50 in one sync group, VRRPv3, advert_int 0.1, no authentication; killall -0 kube-apiserver every 1 s, weight 0)");
    expect(header[2]).toMatch(/^ {2}master3: keepalived with examples\/dual-stack's keepalived\.conf/);
    const rows: SummaryRow[] = [
      { scenario: 'crash', step: "master1's link down", outage_ms: 384, outage6_ms: 369, apart_ms: 0, from: 'master1', to: 'master2', ok: true },
      { scenario: 'crash', step: "master1's link back; preemption", outage_ms: 10, outage6_ms: null, apart_ms: 250, from: 'master2', to: 'master1', ok: false, note: 'apart' },
    ];
    const [head, , first, second] = formatSummary(rows).split('\n').map((line) => line.split(/ {2,}/));
    expect(head).toEqual(['scenario', 'what happened', 'client outage', 'IPv6 outage', 'VIPs apart', 'VIP held by', 'result']);
    expect(first).toEqual(['crash', "master1's link down", '384 ms', '369 ms', '0 ms', 'master1 -> master2', 'ok']);
    expect(second!.slice(3, 5)).toEqual(['-', '250 ms']);
  });

  it('runs the same keepalived.conf on both daemons', () => {
    for (const index of [1, 2, 3] as const) expect(vrrpdConfig('dual-stack', index, undefined)).toBe(keepalivedConfig(index, 'dual-stack'));
    expect(vrrpdConfigExt('dual-stack')).toBe('.conf');
    expect(vrrpdConfigExt('v3')).toBe('.yaml');
  });
});

describe('how long two VIPs were held on different nodes', () => {
  const watch = (events: [number, 'm1' | 'm2', boolean][]): VipWatch<'m1' | 'm2'> => {
    const w = new VipWatch<'m1' | 'm2'>(undefined as never, ['m1', 'm2'], '10.0.0.50/32');
    w.events.push(...events.map(([timeMs, host, held]) => ({ timeMs, host, held })));
    return w;
  };

  it('counts only the time both are held by different sets of hosts, from the start of the window', () => {
    const v4 = watch([[0, 'm1', true], [1000, 'm1', false], [1100, 'm2', true]]);
    // The IPv6 VIP leaves m1 at 1050 and arrives at m2 at 1300: apart from 1100 (v4 on m2, v6 nowhere is not apart)...
    const v6 = watch([[0, 'm1', true], [1050, 'm1', false], [1300, 'm2', true]]);
    expect(splitTime(v4, v6, 500, 2000)).toEqual({ totalMs: 0, longestMs: 0 });
    // ...but v6 staying on m1 while v4 is on m2 is.
    const late6 = watch([[0, 'm1', true], [1250, 'm1', false], [1260, 'm2', true]]);
    expect(splitTime(v4, late6, 500, 2000)).toEqual({ totalMs: 150, longestMs: 150 });
    // Two stretches; the window cuts the first.
    const v4b = watch([[0, 'm1', true], [100, 'm1', false], [100, 'm2', true], [400, 'm2', false], [400, 'm1', true]]);
    const v6b = watch([[0, 'm1', true], [180, 'm1', false], [180, 'm2', true], [420, 'm2', false], [420, 'm1', true]]);
    expect(splitTime(v4b, v6b, 150, 1000)).toEqual({ totalMs: 50, longestMs: 30 });
    // Still apart at the end of the window: counted up to it.
    expect(splitTime(v4, watch([[0, 'm1', true]]), 0, 1500)).toEqual({ totalMs: 400, longestMs: 400 });
  });
});
