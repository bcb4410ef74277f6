/**
 * keepalived's vrrp_track_file / track_file in keepalived.conf and YAML: the model, keepalived's
 * defaults (weight 1; an instance entry without weight takes the file's weight and reverse), the
 * located errors, and import-keepalived's YAML loading back to the same plan.
 */
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { planDaemon } from '../../src/daemon/plan.js';

const CONF = `vrrp_track_file maint {
    file /etc/keepalived/maint
    weight 0
    init_file 0 overwrite
}
track_file prio {
    file /run/prio
    weight -10 reverse
}
track_file plain {
    file /run/plain
}
vrrp_instance VI_1 {
    state MASTER
    interface ens32
    virtual_router_id 51
    priority 100
    advert_int 1
    track_file {
        maint
        prio weight 5
        plain weight 2 reverse
    }
    virtual_ipaddress {
        10.0.0.50
    }
}
`;

function load(text: string, name: string) {
  const loaded = parseConfigText(text, name);
  if (!loaded.ok) throw new Error(loaded.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join('\n'));
  return loaded.config;
}

describe('track files in the configuration', () => {
  it('keepalived.conf: vrrp_track_file and the top-level track_file (its newer name) become vrrp_track_file, with keepalived\'s defaults', () => {
    const config = load(CONF, 'keepalived.conf');
    expect(config.vrrp_track_file).toEqual({
      maint: { name: 'maint', file: '/etc/keepalived/maint', weight: 0, reverse: false, init_file: { value: 0, overwrite: true } },
      prio: { name: 'prio', file: '/run/prio', weight: -10, reverse: true },
      plain: { name: 'plain', file: '/run/plain', weight: 1, reverse: false },
    });
    expect(config.vrrp_instance['VI_1']!.track_file).toEqual([{ name: 'maint' }, { name: 'prio', weight: 5 }, { name: 'plain', weight: 2, reverse: true }]);
    const plan = planDaemon(config);
    // `prio weight 5` without reverse keeps the file's reverse (keepalived starts from the file's).
    expect(plan.instances[0]!.trackFiles).toEqual([
      { name: 'maint', weight: 0, reverse: false },
      { name: 'prio', weight: 5, reverse: true },
      { name: 'plain', weight: 2, reverse: true },
    ]);
    expect(plan.trackFiles).toEqual([
      { name: 'maint', path: '/etc/keepalived/maint', init: { value: 0, overwrite: true } },
      { name: 'prio', path: '/run/prio' },
      { name: 'plain', path: '/run/plain' },
    ]);
  });

  it('import-keepalived writes YAML that loads to the same plan', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'vrrpd-trackfile-')), 'keepalived.conf');
    writeFileSync(file, CONF);
    const bin = resolve(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');
    const yaml = execFileSync(process.execPath, [bin, 'import-keepalived', file], { encoding: 'utf8' });
    expect(yaml).toMatch(/^vrrp_track_file:\n  maint:\n    file: \/etc\/keepalived\/maint\n/m);
    expect(planDaemon(load(yaml, 'vrrpd.yaml'))).toEqual(planDaemon(load(CONF, 'keepalived.conf')));
  });

  it('YAML: vrrp_track_file and track_file with the same meaning', () => {
    const config = load(
      `vrrp_track_file:
  maint: { file: /etc/vrrpd/maint, weight: 0 }
vrrp_instance:
  VI_1:
    interface: ens32
    virtual_router_id: 51
    track_file: [maint]
    virtual_ipaddress: [10.0.0.50]
`,
      'vrrpd.yaml',
    );
    expect(planDaemon(config).instances[0]!.trackFiles).toEqual([{ name: 'maint', weight: 0, reverse: false }]);
  });

  it('an unknown track file, a relative path, a weight out of range and a weighted file on the owner are located errors', () => {
    const bad = parseConfigText(
      `vrrp_track_file maint {
    file maint.txt
    weight 300
}
vrrp_instance VI_1 {
    interface ens32
    virtual_router_id 51
    priority 255
    track_file {
        maintt
    }
    virtual_ipaddress {
        10.0.0.50
    }
}
`,
      'keepalived.conf',
    );
    expect(bad.ok).toBe(false);
    const messages = bad.ok ? [] : bad.errors.map((e) => `${e.line}: ${e.message}`);
    expect(messages.join('\n')).toMatch(/2: .*must be an absolute path/);
    expect(messages.join('\n')).toMatch(/3: .*-254\.\.254|3: .*254/);
    const owner = parseConfigText(CONF.replace('priority 100', 'priority 255'), 'keepalived.conf');
    expect(owner.ok).toBe(false);
    expect(owner.ok ? '' : owner.errors.map((e) => e.message).join('\n')).toMatch(/priority 255 \(address owner\) cannot have weighted trackers: 'prio' has weight 5/);
    const unknown = parseConfigText(CONF.replace('        maint\n', '        maintt\n'), 'keepalived.conf');
    expect(unknown.ok ? '' : unknown.errors.map((e) => `${e.line}: ${e.message}`).join('\n')).toBe("20: unknown vrrp_track_file 'maintt' (did you mean 'maint'?)");
  });
});
