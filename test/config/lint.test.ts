/**
 * The cross-node lint of `vrrpd check-config a.yaml b.yaml c.yaml`: each finding by code, severity
 * and every file:line:column it names. The seed's trios (examples/) and one fixture trio per finding
 * (fixtures/lint/) are loaded from disk as check-config loads them; edge cases are built in memory.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkConfigCommand } from '../../src/cli/check-config.js';
import { loadConfigFile, parseConfigText } from '../../src/config/load.js';
import { formatFinding, lintCluster, shortNames, type LintFinding, type LintNode } from '../../src/config/lint.js';
import { EXAMPLES_DIR } from './helpers.js';

const FIXTURES_DIR = fileURLToPath(new URL('./fixtures/lint/', import.meta.url));
/** The seed's own keepalived.conf files (the keepalived reader's fixtures). */
const KEEPALIVED_DIR = fileURLToPath(new URL('./fixtures/keepalived/', import.meta.url));

async function loadNode(file: string): Promise<LintNode> {
  const result = await loadConfigFile(file);
  if (!result.ok) throw new Error(`${file} rejected: ${result.errors.map((e) => e.message).join('; ')}`);
  return { file, config: result.config, warnings: result.warnings, ...(result.locate ? { locate: result.locate } : {}) };
}

function trio(dir: string, prefix = 'node'): string[] {
  return [1, 2, 3].map((n) => `${dir}${prefix}${n}.yaml`);
}

async function lintFiles(files: string[]): Promise<LintFinding[]> {
  return lintCluster(await Promise.all(files.map(loadNode)));
}

/** `file:line:column path` for each place, with the directory cut for readability. */
function placesOf(finding: LintFinding): string[] {
  return finding.places.map((p) => `${p.file.slice(p.file.lastIndexOf('/') + 1)}:${p.line}:${p.column} ${p.path}`);
}

function codesOf(findings: readonly LintFinding[]): string[] {
  return findings.map((f) => `${f.severity} ${f.code}`);
}

function only(findings: readonly LintFinding[]): LintFinding {
  expect(findings, findings.map(formatFinding).join('\n\n')).toHaveLength(1);
  return findings[0]!;
}

function sink() {
  const chunks: string[] = [];
  return { write: (text: string) => chunks.push(text), text: () => chunks.join('') };
}

async function run(files: string[]) {
  const out = sink();
  const err = sink();
  const code = await checkConfigCommand(files, out, err);
  return { code, out: out.text(), err: err.text() };
}

interface NodeOptions {
  n: number;
  priority?: number;
  source?: string | null;
  peers?: string[];
  advertInt?: number;
  /** `version: N` in the instance when given. */
  version?: 2 | 3;
  auth?: string | null;
  vips?: string[];
  vrid?: number;
  iface?: string;
  nopreempt?: boolean;
  /** Lines of the vrrp_script (after `check:`). */
  script?: string[];
  /** Lines of the instance's trackers. */
  trackers?: string[];
}

/** A node of the seed's cluster in YAML, with one setting per line; null leaves a setting out. */
function nodeText(o: NodeOptions): string {
  const address = (n: number) => `10.0.0.${50 + n}`;
  const peers = o.peers ?? [1, 2, 3].filter((n) => n !== o.n).map(address);
  const lines = [
    'vrrp_script:',
    '  check:',
    ...(o.script ?? ['    script: "killall -0 kube-apiserver"', '    weight: -20']),
    'vrrp_instance:',
    '  VI_1:',
    '    state: BACKUP',
    `    interface: ${o.iface ?? 'ens32'}`,
    `    virtual_router_id: ${o.vrid ?? 251}`,
    `    priority: ${o.priority ?? 101 - o.n}`,
    `    advert_int: ${o.advertInt ?? 1}`,
    ...(o.version !== undefined ? [`    version: ${o.version}`] : []),
    ...(o.nopreempt ? ['    nopreempt: true'] : []),
    ...(o.auth === null ? [] : ['    authentication:', '      auth_type: PASS', `      auth_pass: "${o.auth ?? '123456'}"`]),
    ...(o.source === null ? [] : [`    unicast_src_ip: ${o.source ?? address(o.n)}`]),
    ...(peers.length > 0 ? ['    unicast_peer:', ...peers.map((p) => `      - ${p}`)] : []),
    '    virtual_ipaddress:',
    ...(o.vips ?? ['10.0.0.50']).map((v) => `      - ${v}`),
    ...(o.trackers ?? ['    track_script:', '      - check']),
  ];
  return `${lines.join('\n')}\n`;
}

function memoryNode(o: NodeOptions, file = `/etc/vrrpd/m${o.n}.yaml`): LintNode {
  const result = parseConfigText(nodeText(o), file);
  if (!result.ok) throw new Error(`test node rejected: ${result.errors.map((e) => `${e.path} ${e.message}`).join('; ')}`);
  return { file, config: result.config, warnings: result.warnings, ...(result.locate ? { locate: result.locate } : {}) };
}

/** Nodes that list each other (unless a test says otherwise), so that only what a test changes is found. */
function lintMemory(...options: NodeOptions[]): LintFinding[] {
  const address = (n: number) => `10.0.0.${50 + n}`;
  return lintCluster(options.map((o) => memoryNode({ peers: options.filter((other) => other.n !== o.n).map((other) => address(other.n)), ...o })));
}

describe('lint on the seed trios', () => {
  it('the preempt trio passes clean: 100-20 = 80 is below 99 and 98', async () => {
    expect(await lintFiles(trio(`${EXAMPLES_DIR}preempt/`, 'master'))).toEqual([]);
  });

  it('the nopreempt trio gets the nopreempt warning, naming every node\'s nopreempt and weight', async () => {
    const finding = only(await lintFiles(trio(`${EXAMPLES_DIR}nopreempt/`, 'master')));
    expect(finding.code).toBe('nopreempt_trap');
    expect(finding.severity).toBe('warning');
    expect(finding.subject).toBe('VI_1 (VRID 251 on ens32)');
    expect(placesOf(finding)).toEqual([
      'master1.yaml:24:5 vrrp_instance.VI_1.nopreempt',
      'master1.yaml:16:5 vrrp_script.check.weight',
      'master2.yaml:24:5 vrrp_instance.VI_1.nopreempt',
      'master2.yaml:16:5 vrrp_script.check.weight',
      'master3.yaml:24:5 vrrp_instance.VI_1.nopreempt',
      'master3.yaml:16:5 vrrp_script.check.weight',
    ]);
    expect(finding.places[1]!.note).toBe("track_script 'check' weight -20 (tracked at line 29)");
    expect(finding.advice).toMatch(/weight 0/);
    expect(finding.advice).toMatch(/preempt/);
  });
});

describe('lint on the seed\'s keepalived.conf trios (the same loader reads them)', () => {
  it('preempt passes clean, nopreempt gets the trap at keepalived.conf lines', async () => {
    expect(await lintFiles(trio(`${KEEPALIVED_DIR}preempt/`, 'master').map((f) => f.replace(/yaml$/, 'conf')))).toEqual([]);
    const finding = only(await lintFiles(trio(`${KEEPALIVED_DIR}nopreempt/`, 'master').map((f) => f.replace(/yaml$/, 'conf'))));
    expect(finding.code).toBe('nopreempt_trap');
    expect(placesOf(finding)).toEqual([
      'master1.conf:18:5 vrrp_instance.VI_1.nopreempt',
      'master1.conf:10:5 vrrp_script.check.weight',
      'master2.conf:18:5 vrrp_instance.VI_1.nopreempt',
      'master2.conf:10:5 vrrp_script.check.weight',
      'master3.conf:18:5 vrrp_instance.VI_1.nopreempt',
      'master3.conf:10:5 vrrp_script.check.weight',
    ]);
  });

  it('a setting in an included file is placed in that file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vrrpd-lint-include-'));
    try {
      const seed = readFileSync(`${KEEPALIVED_DIR}preempt/master2.conf`, 'utf8');
      // master2's instance moves to an included file, with advert_int 3 (line 5 there).
      const start = seed.indexOf('vrrp_instance VI_1 {');
      const instance = seed.slice(start).replace('interface ens32', 'interface ens32\n    advert_int 3');
      writeFileSync(join(dir, 'vi_1.conf'), instance);
      writeFileSync(join(dir, 'keepalived.conf'), `${seed.slice(0, start)}include vi_1.conf\n`);
      const finding = only(await lintFiles([`${KEEPALIVED_DIR}preempt/master1.conf`, join(dir, 'keepalived.conf')]).then((all) => all.filter((f) => f.code === 'advert_int_mismatch')));
      // master1 leaves advert_int to its default: placed at its instance's name.
      expect(finding.places.map((p) => `${p.file}:${p.line}:${p.column}`)).toEqual([`${KEEPALIVED_DIR}preempt/master1.conf:13:15`, `${join(dir, 'vi_1.conf')}:4:5`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('lint fixtures, one per finding', () => {
  const fixture = (name: string) => lintFiles(trio(`${FIXTURES_DIR}${name}/`));

  it('a VIP only one node has: error naming every virtual_ipaddress and split brain', async () => {
    const finding = only(await fixture('vip-mismatch'));
    expect(finding.code).toBe('vip_mismatch');
    expect(finding.severity).toBe('error');
    expect(placesOf(finding)).toEqual([
      'node1.yaml:21:5 vrrp_instance.VI_1.virtual_ipaddress',
      'node2.yaml:21:5 vrrp_instance.VI_1.virtual_ipaddress',
      'node3.yaml:21:5 vrrp_instance.VI_1.virtual_ipaddress',
    ]);
    expect(finding.summary).toBe('the virtual_ipaddress lists differ between nodes: [10.0.0.50] in node1.yaml, node2.yaml; [10.0.0.50, 10.0.0.60] in node3.yaml');
    expect(finding.advice).toMatch(/split brain/);
  });

  it('advert_int 2 s on one node: error naming every advert_int', async () => {
    const finding = only(await fixture('advert-int-mismatch'));
    expect(codesOf([finding])).toEqual(['error advert_int_mismatch']);
    expect(placesOf(finding)).toEqual([
      'node1.yaml:13:5 vrrp_instance.VI_1.advert_int',
      'node2.yaml:13:5 vrrp_instance.VI_1.advert_int',
      'node3.yaml:13:5 vrrp_instance.VI_1.advert_int',
    ]);
    expect(finding.places.map((p) => p.note)).toEqual(['advert_int 1 s', 'advert_int 2 s', 'advert_int 1 s']);
    expect(finding.advice).toMatch(/split brain/);
  });

  it('another password on one node: error at every auth_pass, and the passwords are not printed', async () => {
    const finding = only(await fixture('auth-mismatch'));
    expect(codesOf([finding])).toEqual(['error auth_mismatch']);
    expect(placesOf(finding)).toEqual([
      'node1.yaml:16:7 vrrp_instance.VI_1.authentication.auth_pass',
      'node2.yaml:16:7 vrrp_instance.VI_1.authentication.auth_pass',
      'node3.yaml:16:7 vrrp_instance.VI_1.authentication.auth_pass',
    ]);
    const text = formatFinding(finding);
    expect(text).not.toContain('123456');
    expect(text).not.toContain('654321');
    expect(finding.summary).toBe('authentication differs between nodes: PASS with password #1 in node1.yaml, node3.yaml; PASS with password #2 in node2.yaml');
  });

  it('node1 forgot node3: error naming both unicast_src_ip, the list missing it and the entry that lists node1', async () => {
    const finding = only(await fixture('asymmetric-peers'));
    expect(codesOf([finding])).toEqual(['error asymmetric_peers']);
    expect(finding.summary).toBe('node3.yaml lists node1.yaml as a peer, but node1.yaml does not list node3.yaml (10.0.0.53)');
    expect(placesOf(finding)).toEqual([
      'node1.yaml:17:5 vrrp_instance.VI_1.unicast_src_ip',
      'node1.yaml:18:5 vrrp_instance.VI_1.unicast_peer',
      'node3.yaml:17:5 vrrp_instance.VI_1.unicast_src_ip',
      'node3.yaml:19:9 vrrp_instance.VI_1.unicast_peer[0]',
    ]);
    // vrrpd's default check_unicast_src makes it fail in both directions.
    expect(finding.advice).toContain('node1.yaml never sends its adverts to node3.yaml');
    expect(finding.advice).toContain('node1.yaml drops adverts from node3.yaml');
    expect(finding.advice).toMatch(/split brain/);
  });

  it('two nodes at priority 100: a warning at both priorities', async () => {
    const finding = only(await fixture('equal-priorities'));
    expect(codesOf([finding])).toEqual(['warning equal_priority']);
    expect(placesOf(finding)).toEqual(['node1.yaml:12:5 vrrp_instance.VI_1.priority', 'node2.yaml:12:5 vrrp_instance.VI_1.priority']);
    expect(finding.advice).toMatch(/tie-break/);
  });

  it('100/90/80 with weight -5: a warning per master that cannot hand over, naming the backups it stays above', async () => {
    const findings = await fixture('small-weight');
    expect(codesOf(findings)).toEqual(['warning weight_too_small', 'warning weight_too_small']);
    const [first, second] = findings as [LintFinding, LintFinding];
    expect(first.summary).toBe("when track_script 'check' fails on node1.yaml, its priority 100 drops to 95, still at or above node2.yaml (90), node3.yaml (80): no backup takes over, a failed check changes nothing");
    expect(placesOf(first)).toEqual([
      'node1.yaml:12:5 vrrp_instance.VI_1.priority',
      'node1.yaml:6:5 vrrp_script.check.weight',
      'node2.yaml:12:5 vrrp_instance.VI_1.priority',
      'node3.yaml:12:5 vrrp_instance.VI_1.priority',
    ]);
    expect(first.advice).toContain('at least 21');
    expect(second.summary).toBe("when track_script 'check' fails on node2.yaml, its priority 90 drops to 85, still at or above node3.yaml (80): no backup takes over, a failed check changes nothing");
    expect(placesOf(second)).toEqual(['node2.yaml:12:5 vrrp_instance.VI_1.priority', 'node2.yaml:6:5 vrrp_script.check.weight', 'node3.yaml:12:5 vrrp_instance.VI_1.priority']);
  });

  it('VRID 252 on one node: error at every virtual_router_id, and no cascade of unmatched or unknown peers', async () => {
    const finding = only(await fixture('vrid-mismatch'));
    expect(codesOf([finding])).toEqual(['error vrid_mismatch']);
    expect(placesOf(finding)).toEqual([
      'node1.yaml:11:5 vrrp_instance.VI_1.virtual_router_id',
      'node2.yaml:11:5 vrrp_instance.VI_1.virtual_router_id',
      'node3.yaml:11:5 vrrp_instance.VI_1.virtual_router_id',
    ]);
    expect(finding.summary).toBe('virtual_router_id differs between nodes: 251 in node1.yaml, node2.yaml; 252 in node3.yaml');
  });
});

describe('lint edge cases', () => {
  it('has nothing to say about one node', () => {
    expect(lintMemory({ n: 1, priority: 100 })).toEqual([]);
  });

  it('compares passwords as sent: only the first 8 bytes', () => {
    expect(lintMemory({ n: 1, auth: '12345678-one' }, { n: 2, auth: '12345678-two' })).toEqual([]);
    const finding = only(lintMemory({ n: 1, auth: '12345678' }, { n: 2, auth: '12345679' }));
    expect(finding.code).toBe('auth_mismatch');
  });

  it('authentication on one node only: the other is placed at its instance', () => {
    const finding = only(lintMemory({ n: 1 }, { n: 2, auth: null }));
    expect(finding.code).toBe('auth_mismatch');
    expect(finding.places.map((p) => `${p.path} ${p.note}`)).toEqual([
      'vrrp_instance.VI_1.authentication.auth_pass PASS with password #1',
      'vrrp_instance.VI_1 no authentication',
    ]);
    expect(finding.places[1]!.line).toBe(6);
  });

  it('compares VIP sets, not order, prefix or dev (only addresses go on the wire)', () => {
    expect(lintMemory({ n: 1, vips: ['10.0.0.50', '10.0.0.60/24'] }, { n: 2, vips: ['10.0.0.60 dev ens32', '10.0.0.50/32'] })).toEqual([]);
  });

  it('one node multicasting among unicast ones is an error', () => {
    const findings = lintMemory({ n: 1, peers: ['10.0.0.52'] }, { n: 2, peers: [] });
    expect(codesOf(findings)).toEqual(['error unicast_multicast_mix']);
    expect(findings[0]!.places.map((p) => `${p.file}:${p.line} ${p.path}`)).toEqual(['/etc/vrrpd/m1.yaml:16 vrrp_instance.VI_1.unicast_peer', '/etc/vrrpd/m2.yaml:6 vrrp_instance.VI_1']);
  });

  it('two files with one unicast_src_ip is an error, and peers are not compared then', () => {
    const findings = lintMemory({ n: 1 }, { n: 2, source: '10.0.0.51', peers: ['10.0.0.52', '10.0.0.53'] }, { n: 3 });
    expect(codesOf(findings)).toEqual(['error duplicate_source']);
    expect(findings[0]!.places.map((p) => `${p.file}:${p.line}`)).toEqual(['/etc/vrrpd/m1.yaml:15', '/etc/vrrpd/m2.yaml:15']);
  });

  it('neither of two nodes listing the other: one finding with both directions', () => {
    const finding = only(lintMemory({ n: 1, peers: ['10.0.0.60'] }, { n: 2, peers: ['10.0.0.61'] }).filter((f) => f.code === 'asymmetric_peers'));
    expect(finding.summary).toBe('m1.yaml and m2.yaml do not list each other as unicast peers');
    expect(finding.advice).toContain('m1.yaml never sends its adverts to m2.yaml');
    expect(finding.advice).toContain('m2.yaml never sends its adverts to m1.yaml');
  });

  it('a peer that is no given node is a warning at the entry', () => {
    const findings = lintMemory({ n: 1, peers: ['10.0.0.52', '10.0.0.99'] }, { n: 2, peers: ['10.0.0.51'] });
    expect(codesOf(findings)).toEqual(['warning unknown_peer']);
    expect(findings[0]!.places.map((p) => `${p.line}:${p.column} ${p.path}`)).toEqual(['18:9 vrrp_instance.VI_1.unicast_peer[1]']);
  });

  it('a node without unicast_src_ip cannot be checked, and says so instead of guessing', () => {
    const findings = lintMemory({ n: 1 }, { n: 2, source: null });
    expect(codesOf(findings)).toEqual(['warning peer_unverifiable']);
    expect(findings[0]!.summary).toBe('m2.yaml has no unicast_src_ip, so whether the other nodes list it as a peer cannot be checked');
    expect(findings[0]!.places.map((p) => `${p.file}:${p.line} ${p.path}`)).toEqual(['/etc/vrrpd/m2.yaml:15 vrrp_instance.VI_1.unicast_peer']);
  });

  it('points at the right entry when the loader left the node\'s own address out of its peer list', () => {
    // One shared list on every node: the loader drops the node's own address (peer_is_self).
    const shared = ['10.0.0.51', '10.0.0.52', '10.0.0.53'];
    const nodes = [memoryNode({ n: 1, peers: shared }), memoryNode({ n: 2, peers: shared }), memoryNode({ n: 3, peers: ['10.0.0.52'] })];
    expect(nodes[1]!.warnings!.map((w) => w.code)).toEqual(['peer_is_self']);
    const finding = only(lintCluster(nodes).filter((f) => f.code === 'asymmetric_peers'));
    // m2 lists 10.0.0.53 as its third written entry (index 2), though it is the second one kept.
    expect(finding.places.map((p) => `${p.file.slice(-7)}:${p.line}:${p.column} ${p.path}`)).toEqual([
      'm1.yaml:15:5 vrrp_instance.VI_1.unicast_src_ip',
      'm1.yaml:19:9 vrrp_instance.VI_1.unicast_peer[2]',
      'm3.yaml:15:5 vrrp_instance.VI_1.unicast_src_ip',
      'm3.yaml:16:5 vrrp_instance.VI_1.unicast_peer',
    ]);
    // The own address in the middle of the list: m2 writes 10.0.0.53 third as well.
    const middle = only(lintCluster([nodes[0]!, nodes[1]!, memoryNode({ n: 3, peers: ['10.0.0.51'] })]).filter((f) => f.code === 'asymmetric_peers'));
    expect(middle.places.map((p) => `${p.file.slice(-7)}:${p.line}:${p.column} ${p.path}`)).toContain('m2.yaml:19:9 vrrp_instance.VI_1.unicast_peer[2]');
  });

  it('an instance no other file has is a warning, with a hint when only the interface differs', () => {
    const findings = lintMemory({ n: 1, peers: ['10.0.0.52'] }, { n: 2, peers: ['10.0.0.51'], iface: 'eth0' });
    expect(codesOf(findings)).toEqual(['warning unmatched_instance', 'warning unmatched_instance']);
    expect(findings[0]!.summary).toBe('no other file has VRID 251 on ens32 (m2.yaml has it on eth0; instances are matched by VRID and interface)');
  });

  it('weights: per pair, a failing master that only the nearer backup can replace names the far one', () => {
    // 100-20 = 80: below m2 (95) but not below m3 (79); 95-20 = 75 is below 79.
    const finding = only(lintMemory({ n: 1, priority: 100 }, { n: 2, priority: 95 }, { n: 3, priority: 79 }));
    expect(finding.code).toBe('weight_too_small');
    expect(finding.summary).toBe("when track_script 'check' fails on m1.yaml, its priority 100 drops to 80, still at or above m3.yaml (79): only m2.yaml can take over");
  });

  it('weights: equal lowered and backup priority is still too small (an equal advert keeps the backup a backup)', () => {
    expect(codesOf(lintMemory({ n: 1, priority: 100 }, { n: 2, priority: 80 }))).toEqual(['warning weight_too_small']);
    expect(lintMemory({ n: 1, priority: 100 }, { n: 2, priority: 81 })).toEqual([]);
  });

  it('weights: a positive weight lowers the failing node by the same amount, and per-instance overrides win', () => {
    const positive = ['    script: "true"', '    weight: 5'];
    // Healthy: 100+5 = 105 and 99+5 = 104; failing: 100, below 104.
    expect(lintMemory({ n: 1, priority: 100, script: positive }, { n: 2, priority: 99, script: positive })).toEqual([]);
    // node 1 overrides the script's -20 with -1: 100-1 = 99 is not below node 2's 99.
    const override = ['    track_script:', '      - name: check', '        weight: -1'];
    const finding = only(lintMemory({ n: 1, priority: 100, trackers: override }, { n: 2, priority: 99 }));
    expect(finding.code).toBe('weight_too_small');
    expect(finding.places.map((p) => `${p.line}:${p.column} ${p.path}`)).toContain('22:9 vrrp_instance.VI_1.track_script[0].weight');
  });

  it('the trap covers track_interface weights too, and weight 0 (FAULT) is never a finding', () => {
    const iface = ['    track_interface:', '      - name: eth1', '        weight: -30'];
    const trap = only(lintMemory({ n: 1, nopreempt: true, trackers: iface }, { n: 2, nopreempt: true, trackers: iface }));
    expect(trap.code).toBe('nopreempt_trap');
    expect(trap.summary).toBe("with nopreempt on m1.yaml, m2.yaml, a failing track_interface 'eth1' never moves the VIP");
    const zero = ['    script: "killall -0 kube-apiserver"', '    weight: 0'];
    expect(lintMemory({ n: 1, nopreempt: true, script: zero }, { n: 2, nopreempt: true, script: zero })).toEqual([]);
  });

  it('the trap is about the backups: a nopreempt node traps the other\'s weight, not its own', () => {
    // m1 (100, nopreempt) does not take the VIP back from m2 (99), and then m2's failing check
    // never gives it to m1; m1's own failing check does hand over to the preempting m2 (80 < 99).
    const trap = only(lintMemory({ n: 1, nopreempt: true }, { n: 2 }));
    expect(trap.code).toBe('nopreempt_trap');
    expect(trap.summary).toBe("with nopreempt on m1.yaml, a failing track_script 'check' never moves the VIP");
    expect(trap.places.map((p) => `${p.file.slice(-7)}:${p.line} ${p.path}`)).toEqual(['m1.yaml:12 vrrp_instance.VI_1.nopreempt', 'm2.yaml:4 vrrp_script.check.weight']);
    const other = only(lintMemory({ n: 1 }, { n: 2, nopreempt: true }));
    expect(other.places.map((p) => `${p.file.slice(-7)} ${p.path}`)).toEqual(['m1.yaml vrrp_script.check.weight', 'm2.yaml vrrp_instance.VI_1.nopreempt']);
  });

  it('names nodes by the shortest distinct tail of their path', () => {
    expect(shortNames(['/etc/a/keepalived.conf', '/etc/b/keepalived.conf', 'x/m1.yaml'])).toEqual(['a/keepalived.conf', 'b/keepalived.conf', 'm1.yaml']);
  });

  it('uses the file a position names (a keepalived.conf include), and the node\'s file without a locator', () => {
    const [one, two] = [memoryNode({ n: 1, peers: ['10.0.0.52'] }), memoryNode({ n: 2, peers: ['10.0.0.51'], advertInt: 3 })];
    const included: LintNode = { ...one, locate: (path, target) => ({ ...one.locate!(path, target), file: '/etc/keepalived/vi_1.conf' }) };
    const { locate: _dropped, ...unlocated } = two;
    const finding = only(lintCluster([included, unlocated]));
    expect(finding.places.map((p) => `${p.file}:${p.line}:${p.column}`)).toEqual(['/etc/keepalived/vi_1.conf:11:5', '/etc/vrrpd/m2.yaml:0:0']);
    expect(formatFinding(finding)).toContain('\n  at /etc/vrrpd/m2.yaml vrrp_instance.VI_1.advert_int: advert_int 3 s\n');
  });
});

describe('VRRPv3 in the lint (docs/protocol.md#vrrpv3-configuration)', () => {
  it('a VRRPv3 trio without authentication, at 0.1 s, passes clean', () => {
    expect(lintMemory(...[1, 2, 3].map((n) => ({ n, version: 3 as const, advertInt: 0.1, auth: null })))).toEqual([]);
  });

  it('mixing versions in one VRID is an error naming every node\'s version (and the intervals are not compared)', () => {
    const findings = lintMemory({ n: 1, version: 3, advertInt: 0.1, auth: null }, { n: 2, auth: null }, { n: 3, version: 3, advertInt: 0.1, auth: null });
    const finding = only(findings);
    expect(codesOf([finding])).toEqual(['error version_mismatch']);
    expect(finding.summary).toBe('the VRRP version differs between nodes: VRRPv3 in m1.yaml, m3.yaml; VRRPv2 in m2.yaml');
    expect(placesOf(finding)).toEqual(['m1.yaml:12:5 vrrp_instance.VI_1.version', 'm2.yaml:6:3 vrrp_instance.VI_1.version', 'm3.yaml:12:5 vrrp_instance.VI_1.version']);
    expect(finding.advice).toContain('wrong version');
  });

  it('in VRRPv3 a different advert_int is a warning (a backup learns the master\'s), in VRRPv2 still an error', () => {
    const v3 = only(lintMemory({ n: 1, version: 3, advertInt: 0.1, auth: null }, { n: 2, version: 3, advertInt: 1, auth: null }));
    expect(codesOf([v3])).toEqual(['warning advert_int_mismatch']);
    expect(v3.advice).toContain('can become MASTER once');
    const v2 = only(lintMemory({ n: 1, advertInt: 1 }, { n: 2, advertInt: 2 }));
    expect(codesOf([v2])).toEqual(['error advert_int_mismatch']);
  });

  it('a PASS block in a VRRPv3 instance is a warning at the block, and different passwords there are no auth_mismatch', () => {
    const finding = only(lintMemory({ n: 1, version: 3, auth: 'one' }, { n: 2, version: 3, auth: null }, { n: 3, version: 3, auth: 'three' }));
    expect(codesOf([finding])).toEqual(['warning v3_authentication']);
    expect(finding.summary).toBe('VRRPv3 has no authentication: the PASS block of m1.yaml, m3.yaml is ignored');
    expect(placesOf(finding)).toEqual(['m1.yaml:13:5 vrrp_instance.VI_1.authentication', 'm3.yaml:13:5 vrrp_instance.VI_1.authentication']);
  });
});

describe('check-config across nodes', () => {
  it('prints one block per finding naming every file:line:column, and exits 3 on a lint error', async () => {
    const files = trio(`${FIXTURES_DIR}advert-int-mismatch/`);
    const { code, out, err } = await run(files);
    expect(code).toBe(3);
    expect(out).toContain('cross-node check of 3 files: 1 error, 0 warnings\n');
    const blocks = err.trim().split('\n\n');
    expect(blocks).toHaveLength(1);
    const lines = blocks[0]!.split('\n');
    expect(lines[0]).toBe('error [advert_int_mismatch] VI_1 (VRID 251 on ens32): advert_int differs between nodes: 1 s in node1.yaml, node3.yaml; 2 s in node2.yaml');
    expect(lines.slice(1, 4)).toEqual(files.map((f, i) => `  at ${f}:13:5 vrrp_instance.VI_1.advert_int: advert_int ${i === 1 ? 2 : 1} s`));
    expect(lines[4]).toMatch(/split brain/);
  });

  it('exits 0 on lint warnings only (the seed\'s nopreempt trio), after the per-file warnings', async () => {
    const { code, out, err } = await run(trio(`${EXAMPLES_DIR}nopreempt/`, 'master'));
    expect(code).toBe(0);
    expect(out).toContain('cross-node check of 3 files: 0 errors, 1 warning\n');
    expect(err).toContain('warning [nopreempt_trap] VI_1 (VRID 251 on ens32): with nopreempt on master1.yaml, master2.yaml, master3.yaml');
    expect(err).toContain(`  at ${EXAMPLES_DIR}nopreempt/master2.yaml:24:5 vrrp_instance.VI_1.nopreempt: nopreempt\n`);
  });

  it('the seed\'s preempt trio: exit 0, no findings, nothing on stderr', async () => {
    const { code, out, err } = await run(trio(`${EXAMPLES_DIR}preempt/`, 'master'));
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(out).toContain('cross-node check of 3 files: no findings\n');
  });

  it('one file keeps today\'s output: no cross-node line', async () => {
    const { code, out, err } = await run([`${EXAMPLES_DIR}preempt/master1.yaml`]);
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(out).not.toContain('cross-node');
  });

  it('lints the accepted files when one is rejected, and says the rejected one is left out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vrrpd-lint-'));
    try {
      const bad = join(dir, 'bad.yaml');
      writeFileSync(bad, 'vrrp_instance: {}\n');
      const files = [...trio(`${FIXTURES_DIR}equal-priorities/`).slice(0, 2), bad];
      const { code, out, err } = await run(files);
      expect(code).toBe(3);
      // node3's address in the peer lists is unknown now: said, as a warning.
      expect(out).toContain('cross-node check of 2 files (1 rejected file is left out): 0 errors, 3 warnings\n');
      expect(err).toContain('warning [equal_priority]');
      expect(err).toContain('warning [unknown_peer] VI_1 (VRID 251 on ens32): node1.yaml lists 10.0.0.53 as a peer');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sync groups across nodes (docs/protocol.md#sync-groups)', () => {
  const nodeText = (n: number, grouped: boolean, members = 'VI_1 VI_2'): string => `vrrp_instance VI_1 {
    state BACKUP
    interface ens32
    virtual_router_id 51
    priority ${101 - n}
    unicast_src_ip 10.0.0.5${n}
    unicast_peer {
${[1, 2].filter((i) => i !== n).map((i) => `        10.0.0.5${i}`).join('\n')}
    }
    virtual_ipaddress {
        10.0.0.50
    }
}
vrrp_instance VI_2 {
    state BACKUP
    interface ens32
    virtual_router_id 52
    priority ${101 - n}
    unicast_src_ip 10.0.0.5${n}
    unicast_peer {
${[1, 2].filter((i) => i !== n).map((i) => `        10.0.0.5${i}`).join('\n')}
    }
    virtual_ipaddress {
        10.0.0.60
    }
}
${grouped ? `vrrp_sync_group VG_1 {\n    group {\n        ${members}\n    }\n}\n` : ''}`;
  const node = (n: number, grouped: boolean, members?: string): LintNode => {
    const file = `/etc/keepalived/master${n}.conf`;
    const loaded = parseConfigText(nodeText(n, grouped, members), file);
    if (!loaded.ok) throw new Error(loaded.errors.map((e) => e.message).join('; '));
    return { file, config: loaded.config, warnings: loaded.warnings, ...(loaded.locate ? { locate: loaded.locate } : {}) };
  };

  it('the same group on every node: nothing to say', () => {
    expect(lintCluster([node(1, true), node(2, true)]).filter((f) => f.code === 'sync_group_mismatch')).toEqual([]);
  });

  it('a group on one node only is one error naming the group entry and the ungrouped instance', () => {
    const finding = only(lintCluster([node(1, true), node(2, false)]).filter((f) => f.code === 'sync_group_mismatch'));
    expect(finding.severity).toBe('error');
    expect(finding.summary).toBe('sync group membership differs between nodes: grouped with VRID 51 on ens32, VRID 52 on ens32 in master1.conf; in no sync group in master2.conf');
    expect(placesOf(finding)).toEqual(['master1.conf:29:9 vrrp_sync_group.VG_1.group[0]', 'master2.conf:4:5 vrrp_instance.VI_1.virtual_router_id']);
  });

  it('different members: an error', () => {
    const findings = lintCluster([node(1, true), node(2, true, 'VI_1')]).filter((f) => f.code === 'sync_group_mismatch');
    expect(findings.length).toBeGreaterThanOrEqual(1);
    expect(findings[0]!.summary).toMatch(/grouped with VRID 51 on ens32, VRID 52 on ens32 in master1\.conf; grouped with VRID 51 on ens32 in master2\.conf/);
  });
});
