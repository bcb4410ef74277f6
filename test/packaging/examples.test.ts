/**
 * Every file under examples/ is checked by the tool that would read it, so no example can rot:
 * vrrpd configs (YAML and keepalived.conf) by the project's loader, HAProxy and nginx configs by
 * `haproxy -c` and `nginx -t`, the static-pod manifest as YAML with the fields that matter. The
 * keepalived.conf examples must also be byte for byte the seed's six configs, as test/interop/fixtures
 * holds them.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfigFile } from '../../src/config/load.js';

const repo = new URL('../../', import.meta.url).pathname;
const examples = join(repo, 'examples');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [relative(examples, path)];
  });
}
const all = walk(examples).sort();
const vrrpdYaml = all.filter((f) => f.endsWith('.yaml') && !f.startsWith('kubernetes/'));
const keepalivedConf = all.filter((f) => f.startsWith('keepalived/') && f.endsWith('.conf'));
/** examples/dual-stack: the three masters' keepalived.conf under keepalived/, the same in YAML next to it. */
const dualStackConf = all.filter((f) => f.startsWith('dual-stack/keepalived/') && f.endsWith('.conf'));
const haproxy = all.filter((f) => f.startsWith('haproxy/') && f.endsWith('.cfg'));
const nginx = all.filter((f) => f.startsWith('nginx/') && f.endsWith('.conf'));
const manifests = all.filter((f) => f.startsWith('kubernetes/') && f.endsWith('.yaml'));

function run(command: string, args: string[]) {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 30_000 });
  expect(result.error, `${command} must be installed (see .ci/run)`).toBeUndefined();
  return result;
}

describe('examples/', () => {
  it('has no file that no check below reads', () => {
    const covered = new Set([...vrrpdYaml, ...keepalivedConf, ...dualStackConf, ...haproxy, ...nginx, ...manifests]);
    expect(all.filter((f) => !covered.has(f))).toEqual([]);
    expect(keepalivedConf).toHaveLength(6);
    expect(dualStackConf).toHaveLength(3);
    expect(haproxy).toHaveLength(2);
    expect(nginx).toHaveLength(2);
    expect(manifests).toHaveLength(1);
  });

  it.each(vrrpdYaml)('%s loads without errors', async (file) => {
    const result = await loadConfigFile(join(examples, file));
    expect(result.ok ? [] : result.errors).toEqual([]);
  });

  it.each(keepalivedConf)('%s loads without errors and runs the same instance as the YAML example', async (file) => {
    const conf = await loadConfigFile(join(examples, file));
    expect(conf.ok ? [] : conf.errors).toEqual([]);
    // keepalived/preempt/master1.conf <-> preempt/master1.yaml
    const yaml = await loadConfigFile(join(examples, file.replace(/^keepalived\//, '').replace(/\.conf$/, '.yaml')));
    if (!conf.ok || !yaml.ok) throw new Error('not loaded');
    expect(conf.config.vrrp_instance).toEqual(yaml.config.vrrp_instance);
    expect(conf.config.vrrp_script).toEqual(yaml.config.vrrp_script);
  });

  it.each(dualStackConf)('%s loads without errors and runs the same instances and sync group as the YAML example', async (file) => {
    const conf = await loadConfigFile(join(examples, file));
    expect(conf.ok ? [] : conf.errors).toEqual([]);
    // dual-stack/keepalived/master1.conf <-> dual-stack/master1.yaml
    const yaml = await loadConfigFile(join(examples, file.replace(/keepalived\//, '').replace(/\.conf$/, '.yaml')));
    if (!conf.ok || !yaml.ok) throw new Error('not loaded');
    expect(conf.config.vrrp_instance).toEqual(yaml.config.vrrp_instance);
    expect(conf.config.vrrp_sync_group).toEqual(yaml.config.vrrp_sync_group);
    expect(Object.keys(conf.config.vrrp_sync_group ?? {})).toEqual(['APISERVER']);
  });

  it('keepalived/ holds the seed\'s six configs exactly as the interop tests run them', () => {
    // test/interop/fixtures are the seed document's six configs byte for byte. The examples must be
    // the very same bytes, so the README's migration starts from them.
    const order = ['nopreempt', 'preempt'].flatMap((mode) => [1, 2, 3].map((n) => [mode, n] as const));
    const fixtures = join(examples, '..', 'test', 'interop', 'fixtures');
    for (const [mode, n] of order) {
      expect(readFileSync(join(examples, 'keepalived', mode, `master${n}.conf`), 'utf8')).toEqual(readFileSync(join(fixtures, `${mode}-master${n}.conf`), 'utf8'));
    }
  });

  it.each(haproxy)('%s passes haproxy -c', (file) => {
    const result = run('haproxy', ['-c', '-f', join(examples, file)]);
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });

  it.each(nginx)('%s passes nginx -t', (file) => {
    // pid elsewhere: -t only parses, but it checks that the pid path's directory exists.
    const result = run('nginx', ['-t', '-c', join(examples, file), '-g', 'pid /tmp/vrrpd-example-nginx.pid;']);
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });

  it('kubernetes/vrrpd-static-pod.yaml is a hostNetwork pod with exactly NET_ADMIN and NET_RAW and the config from the host', () => {
    const pod = parse(readFileSync(join(examples, 'kubernetes', 'vrrpd-static-pod.yaml'), 'utf8')) as {
      apiVersion: string; kind: string; metadata: { namespace: string };
      spec: {
        hostNetwork: boolean;
        containers: Array<{ command: string[]; securityContext: { capabilities: { drop: string[]; add: string[] }; allowPrivilegeEscalation: boolean }; volumeMounts: Array<{ name: string; mountPath: string }> }>;
        volumes: Array<{ name: string; hostPath?: { path: string } }>;
      };
    };
    expect({ apiVersion: pod.apiVersion, kind: pod.kind, namespace: pod.metadata.namespace }).toEqual({ apiVersion: 'v1', kind: 'Pod', namespace: 'kube-system' });
    expect(pod.spec.hostNetwork).toBe(true);
    const [container] = pod.spec.containers;
    expect(container!.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] });
    expect(container!.securityContext.allowPrivilegeEscalation).toBe(false);
    const configPath = container!.command[container!.command.indexOf('--config') + 1];
    const mount = container!.volumeMounts.find((m) => m.mountPath === configPath);
    expect(mount, `a volume mounted at ${configPath}`).toBeDefined();
    expect(pod.spec.volumes.find((v) => v.name === mount!.name)?.hostPath?.path).toBe('/etc/vrrpd/vrrpd.yaml');
  });
});
