/**
 * vrrp_sync_group in keepalived.conf and YAML (docs/protocol.md#sync-groups): the model, the plan the
 * engine gets, keepalived's tracking rules for members, and located errors for what cannot work.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfigCommand } from '../../src/cli/check-config.js';
import { parseConfigText } from '../../src/config/load.js';
import { planDaemon } from '../../src/daemon/plan.js';

const INSTANCES = `vrrp_script chk {
    script "killall -0 kube-apiserver"
    interval 1
    weight -20
}
vrrp_instance VI_1 {
    state BACKUP
    interface ens32
    virtual_router_id 51
    priority 100
    advert_int 1
    track_script {
        chk
    }
    virtual_ipaddress {
        10.0.0.50
    }
}
vrrp_instance VI_2 {
    state BACKUP
    interface ens32
    virtual_router_id 52
    priority 100
    advert_int 1
    virtual_ipaddress {
        10.0.0.60
    }
}
`;

function load(text: string, name = '/etc/keepalived/keepalived.conf') {
  return parseConfigText(text, name);
}

function issues(list: readonly { line: number; path: string; message: string }[]): string[] {
  return list.map((i) => `${i.line} ${i.path}: ${i.message}`);
}

describe('vrrp_sync_group in keepalived.conf', () => {
  it('group, notify scripts and group trackers become the model and the plan; members lose weighted trackers as in keepalived', () => {
    const text = `${INSTANCES}vrrp_sync_group VG_1 {
    group {
        VI_1
        VI_2
    }
    track_interface {
        ens33
    }
    notify_master "/etc/keepalived/master.sh"
    notify_backup /etc/keepalived/backup.sh
    notify_fault /etc/keepalived/fault.sh
    notify /etc/keepalived/notify.sh
    smtp_alert
}
`;
    const loaded = load(text);
    if (!loaded.ok) throw new Error(issues(loaded.errors).join('\n'));
    expect(loaded.config.vrrp_sync_group).toEqual({
      VG_1: {
        name: 'VG_1', group: ['VI_1', 'VI_2'], track_script: [], track_interface: [{ name: 'ens33' }], track_file: [], sync_group_tracking_weight: false,
        notify_master: '/etc/keepalived/master.sh', notify_backup: '/etc/keepalived/backup.sh', notify_fault: '/etc/keepalived/fault.sh', notify: '/etc/keepalived/notify.sh',
      },
    });
    // keepalived: "(VI_1) ignoring tracked script chk with weights due to SYNC group".
    expect(loaded.config.vrrp_instance['VI_1']!.track_script).toEqual([]);
    expect(loaded.config.vrrp_instance['VI_1']!.track_interface).toEqual([{ name: 'ens33' }]);
    expect(loaded.config.vrrp_instance['VI_2']!.track_interface).toEqual([{ name: 'ens33' }]);
    expect(issues(loaded.warnings)).toEqual(expect.arrayContaining([
      expect.stringMatching(/^13 vrrp_instance\.VI_1\.track_script\[0\]: tracked script 'chk' with weight -20 is ignored in sync group VG_1 without sync_group_tracking_weight/),
      expect.stringMatching(/^41 vrrp_sync_group\.VG_1\.smtp_alert: 'smtp_alert' is ignored: vrrpd sends no e-mail/),
    ]));
    const plan = planDaemon(loaded.config);
    expect(plan.syncGroups).toEqual([{ name: 'VG_1', members: ['VI_1', 'VI_2'], notify: { notify_master: '/etc/keepalived/master.sh', notify_backup: '/etc/keepalived/backup.sh', notify_fault: '/etc/keepalived/fault.sh', notify: '/etc/keepalived/notify.sh' } }]);
    // The weighted check is gone from every member, so no check runs at all.
    expect(plan.checks).toEqual([]);
  });

  it('sync_group_tracking_weight (and the deprecated global_tracking) keeps members\' weights', () => {
    for (const keyword of ['sync_group_tracking_weight', 'global_tracking']) {
      const loaded = load(`${INSTANCES}vrrp_sync_group VG_1 {\n    group {\n        VI_1 VI_2\n    }\n    ${keyword}\n}\n`);
      if (!loaded.ok) throw new Error(issues(loaded.errors).join('\n'));
      expect(loaded.config.vrrp_instance['VI_1']!.track_script).toEqual([{ name: 'chk' }]);
      expect(loaded.config.vrrp_sync_group!['VG_1']!.sync_group_tracking_weight).toBe(true);
      expect(issues(loaded.warnings).some((w) => w.includes('deprecated'))).toBe(keyword === 'global_tracking');
    }
  });

  it('an unknown member, an instance in two groups and an empty group are errors at their line', () => {
    const loaded = load(`${INSTANCES}vrrp_sync_group VG_1 {
    group {
        VI_1
        VI_3
    }
}
vrrp_sync_group VG_2 {
    group {
        VI_2 VI_1
    }
}
vrrp_sync_group VG_3 {
    group {
    }
}
`);
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(issues(loaded.errors)).toEqual([
      "32 vrrp_sync_group.VG_1.group[1]: no vrrp_instance named 'VI_3' (did you mean 'VI_1'?); keepalived would ignore it and move the group without it",
      '37 vrrp_sync_group.VG_2.group[1]: vrrp_instance VI_1 is already in sync group VG_1; an instance can be in one sync group only (keepalived keeps the first)',
      '41 vrrp_sync_group.VG_3.group: must list at least one vrrp_instance (keepalived removes a sync group without members)',
    ]);
    expect(loaded.errors[0]!.file).toBe('/etc/keepalived/keepalived.conf');
  });

  it('a group of one loads with keepalived\'s warning', () => {
    const loaded = load(`${INSTANCES}vrrp_sync_group VG_1 {\n    group {\n        VI_2\n    }\n}\n`);
    if (!loaded.ok) throw new Error(issues(loaded.errors).join('\n'));
    expect(issues(loaded.warnings)).toContain("30 vrrp_sync_group.VG_1.group: has only 1 virtual router (VI_2) - this probably isn't what you want (as keepalived says): a sync group moves two or more instances together");
  });
});

describe('vrrp_sync_group in YAML', () => {
  const YAML = `vrrp_instance:
  VI_1:
    interface: ens32
    virtual_router_id: 51
    virtual_ipaddress: [10.0.0.50]
  VI_2:
    interface: ens32
    virtual_router_id: 52
    virtual_ipaddress: [10.0.0.60]
vrrp_sync_group:
  VG_1:
    group: [VI_1, VI_2]
    notify: /usr/local/bin/group-notify
`;

  it('the same model as keepalived.conf', () => {
    const loaded = parseConfigText(YAML, '/etc/vrrpd/vrrpd.yaml');
    if (!loaded.ok) throw new Error(issues(loaded.errors).join('\n'));
    expect(loaded.config.vrrp_sync_group!['VG_1']).toEqual({ name: 'VG_1', group: ['VI_1', 'VI_2'], track_script: [], track_interface: [], track_file: [], sync_group_tracking_weight: false, notify: '/usr/local/bin/group-notify' });
  });

  it('an unknown member and a misspelt key are located errors', () => {
    const loaded = parseConfigText(YAML.replace('[VI_1, VI_2]', '[VI_1, VI_9]').replace('    notify:', '    notfy:'), '/etc/vrrpd/vrrpd.yaml');
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(issues(loaded.errors).join('\n')).toMatch(/^13 vrrp_sync_group\.VG_1\.notfy: unknown key 'notfy' \(did you mean 'notify'\?\)/m);
  });

  it('an unknown member in YAML points at the list entry', () => {
    const loaded = parseConfigText(YAML.replace('[VI_1, VI_2]', '[VI_1, VI_9]'), '/etc/vrrpd/vrrpd.yaml');
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(issues(loaded.errors)).toEqual(["12 vrrp_sync_group.VG_1.group[1]: no vrrp_instance named 'VI_9' (did you mean 'VI_1'?); keepalived would ignore it and move the group without it"]);
  });
});

describe('vrrpd check-config', () => {
  it('names each sync group and its members', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vrrpd-sync-'));
    try {
      const file = join(dir, 'keepalived.conf');
      writeFileSync(file, `${INSTANCES}vrrp_sync_group VG_1 {\n    group {\n        VI_1 VI_2\n    }\n}\n`);
      const out: string[] = [];
      const code = await checkConfigCommand([file], { write: (t: string) => out.push(t) }, { write: () => undefined });
      expect(code).toBe(0);
      expect(out.join('')).toContain('  sync group VG_1: VI_1, VI_2 move together\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
