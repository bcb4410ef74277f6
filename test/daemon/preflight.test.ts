/**
 * The preflight `run` and `check-config` share (src/daemon/preflight.ts): users, scripts and notify
 * commands judged as the user vrrpd runs as. Scripts are real files in a temporary directory
 * owned by root (script security looks at owners and modes), so this runs as root.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import type { VrrpdConfig } from '../../src/config/model.js';
import { describeIdentity, identityForUser, preflightConfig, preflightFile, type DaemonIdentity } from '../../src/daemon/preflight.js';
import { capabilityNames, CAP_NET_ADMIN, CAP_NET_RAW, parseCapabilitySets, VRRPD_CAPABILITIES } from '../../src/io/privileges.js';
import { signalZeroProbe } from '../../src/io/command.js';

const NOBODY = 65534;
const ROOT: DaemonIdentity = { user: 'root', uid: 0, capabilities: (1n << 41n) - 1n };
/** What the shipped unit makes vrrpd: an ordinary user with CAP_NET_ADMIN and CAP_NET_RAW. */
const UNIT: DaemonIdentity = { user: 'nobody', uid: NOBODY, capabilities: VRRPD_CAPABILITIES };
/** An ordinary user with no capability at all (its scripts gain nothing from running as it). */
const PLAIN: DaemonIdentity = { user: 'nobody', uid: NOBODY, capabilities: 0n };

let dir: string;

function script(name: string, mode = 0o755, at = dir): string {
  const path = join(at, name);
  writeFileSync(path, '#!/bin/sh\nexit 0\n');
  chmodSync(path, mode);
  return path;
}

/** The seed's node as YAML, with the given global_defs, check and instance lines. */
function seed(options: { globals?: string; check?: string; instance?: string } = {}): string {
  return `global_defs:
${options.globals ?? '  script_user: root\n  enable_script_security: true'}
vrrp_script:
  check:
${options.check ?? '    script: "killall -0 kube-apiserver"'}
    interval: 2
    weight: -20
vrrp_instance:
  VI_1:
    state: MASTER
    interface: ens32
    virtual_router_id: 251
    priority: 100
${options.instance ?? ''}    track_script: [check]
    virtual_ipaddress: [10.0.0.50 dev ens32]
`;
}

function config(text: string): VrrpdConfig {
  const loaded = parseConfigText(text, 'test.yaml');
  if (!loaded.ok) throw new Error(`test config rejected: ${JSON.stringify(loaded.errors)}`);
  return loaded.config;
}

beforeAll(() => {
  expect(process.geteuid?.()).toBe(0);
  dir = mkdtempSync(join(tmpdir(), 'vrrpd-preflight-'));
  chmodSync(dir, 0o755);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('preflight: users', () => {
  it('a script_user that does not exist is an error for every identity, even when nothing runs as it', () => {
    const text = seed({ globals: '  script_user: no-such-user-xyz', check: '    process: kube-apiserver' });
    for (const identity of [ROOT, UNIT, PLAIN]) {
      expect(preflightConfig(config(text), identity).problems).toEqual(["global_defs script_user 'no-such-user-xyz': user 'no-such-user-xyz' does not exist"]);
    }
  });

  it('a vrrp_script user that does not exist is one error, not one per command that would use it', () => {
    const text = seed({ check: '    script: /bin/true\n    user: no-such-user-xyz', instance: '    notify_master: /bin/true\n' });
    expect(preflightConfig(config(text), ROOT).problems).toEqual(["vrrp_script check user 'no-such-user-xyz': user 'no-such-user-xyz' does not exist"]);
    const global = seed({ globals: '  script_user: nobody no-such-group-xyz', check: '    script: /bin/true', instance: '    notify_master: /bin/true\n    notify: /bin/true\n' });
    expect(preflightConfig(config(global), ROOT).problems).toEqual(["global_defs script_user 'nobody no-such-group-xyz': group 'no-such-group-xyz' does not exist"]);
  });
});

describe('preflight: script security follows the capabilities, not only root', () => {
  it('a world-writable check script is refused as root and as the unit\'s user, not as a user without capabilities', () => {
    const insecure = script('ww-check.sh', 0o777);
    const text = seed({ check: `    script: ${insecure}` });
    expect(preflightConfig(config(text), ROOT).problems).toEqual([
      `vrrp_script check ('${insecure}'): refusing to run ${insecure} as root: file ${insecure} is writable by others (mode 0777) (enable_script_security requires every component to be owned by root and writable only by root)`,
    ]);
    expect(preflightConfig(config(text), UNIT).problems).toEqual([
      `vrrp_script check ('${insecure}'): refusing to run ${insecure} as uid ${NOBODY} (vrrpd itself), which holds CAP_NET_ADMIN, CAP_NET_RAW: file ${insecure} is writable by others (mode 0777) (enable_script_security requires every component to be owned by root and writable only by root)`,
    ]);
    expect(preflightConfig(config(text), PLAIN).problems).toEqual([]);
  });

  it('a script in a world-writable directory, and a notify command, the same', () => {
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const inOpen = script('check.sh', 0o755, open);
    const notify = script('ww-notify.sh', 0o757);
    const findings = preflightConfig(config(seed({ check: `    script: ${inOpen}`, instance: `    notify_backup: ${notify} backup\n` })), UNIT);
    expect(findings.problems).toEqual([
      expect.stringContaining(`refusing to run ${inOpen} as uid ${NOBODY} (vrrpd itself), which holds CAP_NET_ADMIN, CAP_NET_RAW: directory ${open} is writable by others (mode 0777)`),
      expect.stringMatching(new RegExp(`^vrrp_instance VI_1 notify_backup \\('${notify} backup'\\): refusing to run ${notify} as uid ${NOBODY} \\(vrrpd itself\\), which holds CAP_NET_ADMIN, CAP_NET_RAW: file ${notify} is writable by others \\(mode 0757\\)`)),
    ]);
  });

  it('without enable_script_security it runs, and a warning says what that means', () => {
    const insecure = script('ww-warn.sh', 0o777);
    const text = seed({ globals: '  enable_script_security: false', check: `    script: ${insecure}`, instance: `    notify: ${insecure}\n` });
    const findings = preflightConfig(config(text), UNIT);
    expect(findings.problems).toEqual([]);
    const why = `runs ${insecure} as uid ${NOBODY} (vrrpd itself), which holds CAP_NET_ADMIN, CAP_NET_RAW although file ${insecure} is writable by others (mode 0777): whoever can change it runs code with vrrpd's privileges; set enable_script_security to refuse it`;
    expect(findings.warnings).toEqual([`vrrp_script check ${why}`, `vrrp_instance VI_1 notify ('${insecure}') ${why}`]);
    expect(preflightConfig(config(text), PLAIN).warnings).toEqual([]);
  });

  it('missing scripts and bad notify commands are errors, each named once', () => {
    const text = seed({ check: '    script: /nonexistent/check.sh', instance: '    notify_master: no-such-notify-xyz\n    notify_fault: "/bin/true \'x"\n' });
    const problems = preflightConfig(config(text), ROOT).problems;
    expect(problems).toHaveLength(3);
    expect(problems[0]).toBe("vrrp_script check ('/nonexistent/check.sh'): /nonexistent/check.sh does not exist or is not an executable file");
    expect(problems[1]).toMatch(/^vrrp_instance VI_1 notify_master \('no-such-notify-xyz'\): no-such-notify-xyz not found in PATH/);
    expect(problems[2]).toMatch(/^vrrp_instance VI_1 notify_fault .*unbalanced ' quote/);
  });

  it('hands run the prepared checks: only the tracked ones, none started', () => {
    const text = `${seed({ check: '    script: /bin/true' })}`.replace('vrrp_script:\n', 'vrrp_script:\n  spare:\n    process: nothing\n');
    const findings = preflightConfig(config(text), ROOT);
    expect(findings.trackers.checks.map((c) => c.script.name)).toEqual(['check']);
    expect(findings.trackers.untracked).toEqual(['spare']);
  });
});

describe('preflight: checks that cannot work as their user', () => {
  it('warns about the seed\'s killall -0 when vrrpd runs as an ordinary user, and names the built-in check', () => {
    const findings = preflightConfig(config(seed()), UNIT);
    expect(findings.problems).toEqual([]);
    expect(findings.warnings).toEqual([
      `vrrp_script check runs as vrrpd's own user (uid ${NOBODY} (vrrpd itself)): only root can run scripts as 'root'`,
      `vrrp_script check cannot work as uid ${NOBODY} (vrrpd itself): 'killall' with signal 0 gets EPERM from a process of another user (root's kube-apiserver) without CAP_KILL, so the check fails while kube-apiserver runs; use the built-in check \`process: kube-apiserver\` instead, which reads /proc (README "Checks without root")`,
    ]);
  });

  it('says nothing as root; warns when root runs the check as another user', () => {
    expect(preflightConfig(config(seed()), ROOT).warnings).toEqual([]);
    const asNobody = preflightConfig(config(seed({ globals: '  script_user: nobody' })), ROOT).warnings;
    expect(asNobody).toEqual([expect.stringMatching(/^vrrp_script check cannot work as nobody:\d+: 'killall' with signal 0 gets EPERM/)]);
  });

  it('no warning for checks that work without root (pgrep, the built-in process check)', () => {
    expect(preflightConfig(config(seed({ check: '    script: "pgrep -x kube-apiserver"' })), UNIT).warnings.filter((w) => w.includes('EPERM'))).toEqual([]);
    expect(preflightConfig(config(seed({ check: '    process: kube-apiserver' })), UNIT).warnings).toEqual([]);
  });

  it.each([
    [['killall', '-0', 'kube-apiserver'], { tool: 'killall', target: 'kube-apiserver' }],
    [['/usr/bin/killall', '-q', '-0', 'kube-apiserver'], { tool: 'killall', target: 'kube-apiserver' }],
    [['killall', '-s', '0', 'kube-apiserver'], { tool: 'killall', target: 'kube-apiserver' }],
    [['killall', '--signal=0', 'haproxy'], { tool: 'killall', target: 'haproxy' }],
    [['killall', '-s0', 'haproxy'], { tool: 'killall', target: 'haproxy' }],
    [['pkill', '-0', '-x', 'kube-apiserver'], { tool: 'pkill', target: 'kube-apiserver' }],
    [['pkill', '--signal', '0', 'etcd'], { tool: 'pkill', target: 'etcd' }],
    [['kill', '-0', '1234'], { tool: 'kill', target: '1234' }],
    [['kill', '-s', '0', '1234'], { tool: 'kill', target: '1234' }],
    [['/bin/sh', '-c', 'kill -0 $(cat /run/kube-apiserver.pid)'], { tool: 'kill', target: '' }],
    [['bash', '-c', 'test -e /etc/x && killall -0 kube-apiserver'], { tool: 'killall', target: 'kube-apiserver' }],
  ] as const)('spots a signal-0 process check: %j', (argv, expected) => {
    expect(signalZeroProbe(argv)).toEqual(expected);
  });

  it.each([
    [['killall', 'kube-apiserver']],
    [['killall', '-HUP', 'haproxy']],
    [['pkill', '-s', '0', 'x']], // pkill -s is a session id
    [['pgrep', '-x', 'kube-apiserver']],
    [['pidof', 'kube-apiserver']],
    [['sh', '-c', 'curl -fsk https://127.0.0.1:6443/readyz']],
    [['/usr/local/bin/check-0']],
  ] as const)('leaves other commands alone: %j', (argv) => {
    expect(signalZeroProbe(argv)).toBeUndefined();
  });
});

describe('identities', () => {
  it('check-config --user NAME judges as NAME holding what vrrpd needs; an unknown user is an error', () => {
    expect(identityForUser('nobody')).toEqual({ user: 'nobody', uid: NOBODY, capabilities: CAP_NET_ADMIN | CAP_NET_RAW });
    expect(identityForUser(undefined)).toMatchObject({ user: 'root', uid: 0 });
    expect(() => identityForUser('no-such-user-xyz')).toThrow("user 'no-such-user-xyz' does not exist");
    expect(describeIdentity(UNIT)).toBe(`user nobody (uid ${NOBODY}) with CAP_NET_ADMIN and CAP_NET_RAW`);
    expect(describeIdentity(ROOT)).toBe('root (uid 0)');
  });

  it('reads capability sets as /proc/PID/status shows them', () => {
    const status = 'Name:\tnode\nCapInh:\t0000000000003000\nCapPrm:\t0000000000003000\nCapEff:\t0000000000003000\nCapBnd:\t0000000000003000\nCapAmb:\t0000000000003000\nNoNewPrivs:\t1\nSeccomp:\t2\n';
    expect(parseCapabilitySets(status)).toEqual({ inheritable: 0x3000n, permitted: 0x3000n, effective: 0x3000n, bounding: 0x3000n, ambient: 0x3000n, seccomp: 2 });
    expect(capabilityNames(0x3000n)).toEqual(['CAP_NET_ADMIN', 'CAP_NET_RAW']);
    expect(capabilityNames(1n << 5n)).toEqual(['CAP_KILL']);
  });
});

describe('preflightFile', () => {
  it('stops at a file that does not load, with the loader\'s located errors', async () => {
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, seed().replace('priority: 100', 'priority: 300'));
    const result = await preflightFile(path, ROOT);
    expect(result.stage).toBe('load');
    expect(result.ok).toBe(false);
  });

  it('gives the problems of a loaded file, as run and check-config print them', async () => {
    const path = join(dir, 'users.yaml');
    writeFileSync(path, seed({ globals: '  script_user: no-such-user-xyz' }));
    const result = await preflightFile(path, UNIT);
    expect(result).toMatchObject({ ok: false, stage: 'host', problems: ["global_defs script_user 'no-such-user-xyz': user 'no-such-user-xyz' does not exist"] });
  });
});
