/** `vrrpd lab`'s words and verdicts, without building a lab (test/netns/lab-demo.test.ts runs it). */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/args.js';
import { labOptions } from '../../src/cli/lab.js';
import { describeCluster, electionRow } from '../../src/lab/lab.js';
import type { ProbeReply } from '../../src/lab/processes.js';
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
  });

  it('a bad value is a usage error that names the option', () => {
    for (const [values, message] of [
      [{ scenario: 'meteor' }, /^--scenario must be one of election, apiserver, graceful, crash; got 'meteor'$/],
      [{ 'config-set': 'best' }, /^--config-set must be recommended or seed/],
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
