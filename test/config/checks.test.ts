/**
 * The built-in check kinds (`http`, `tcp`, `process`) in vrrp_script: what each accepts, the
 * defaults it fills in, and every mistake reported with its place in the file. Also the shipped
 * recommended configuration (examples/recommended) loads with the ordinary loader.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { toInstanceConfig } from '../../src/config/convert.js';
import { acceptedConfig, errorsOf, EXAMPLES_DIR, ip, parse, where } from './helpers.js';

/**
 * A file whose vrrp_script `chk` body starts on line 3 (lines given as they are, indented 4).
 * Line 1 `vrrp_script:`, 2 `  chk:`, 3.. the check lines.
 */
function withCheck(...lines: string[]): string {
  return [
    'vrrp_script:',
    '  chk:',
    ...lines.map((line) => `    ${line}`),
    'vrrp_instance:',
    '  VI_1:',
    '    interface: ens32',
    '    virtual_router_id: 51',
    '    virtual_ipaddress: [10.0.0.50]',
    '    track_script: [chk]',
  ].join('\n') + '\n';
}

function checkOf(text: string) {
  return acceptedConfig(parse(text)).config.vrrp_script['chk']!;
}

/** `code path @line:column` of every error. */
function errorsAt(text: string): string[] {
  return errorsOf(parse(text)).map(where);
}

describe('http check', () => {
  it('takes a URL as a string and fills in the defaults', () => {
    expect(checkOf(withCheck('http: https://127.0.0.1:6443/readyz', 'interval: 0.2'))).toEqual({
      name: 'chk',
      check: { kind: 'http', url: 'https://127.0.0.1:6443/readyz', insecure: false, expected_status: [200] },
      interval: 0.2, timeout: 0.2, weight: 0, reverse: false, rise: 1, fall: 1, init_fail: false,
    });
  });

  it('takes the mapping form with CA, client certificate, server name and status list', () => {
    const script = checkOf(withCheck(
      'http:',
      '  url: https://127.0.0.1:6443/readyz',
      '  ca_file: /etc/kubernetes/pki/ca.crt',
      '  cert_file: /etc/vrrpd/client.crt',
      '  key_file: /etc/vrrpd/client.key',
      '  server_name: kubernetes',
      '  expected_status: [200, 204]',
      'interval: 0.1',
      'timeout: 0.5',
      'fall: 3',
      'rise: 2',
    ));
    expect(script.check).toEqual({
      kind: 'http', url: 'https://127.0.0.1:6443/readyz', ca_file: '/etc/kubernetes/pki/ca.crt',
      cert_file: '/etc/vrrpd/client.crt', key_file: '/etc/vrrpd/client.key', server_name: 'kubernetes',
      insecure: false, expected_status: [200, 204],
    });
    expect(script).toMatchObject({ interval: 0.1, timeout: 0.5, fall: 3, rise: 2 });
  });

  it('takes insecure: true alone', () => {
    expect(checkOf(withCheck('http:', '  url: https://127.0.0.1:6443/readyz', '  insecure: true')).check).toMatchObject({ insecure: true });
  });

  it('refuses a mapping without a URL, at the http key', () => {
    expect(errorsAt(withCheck('http:', '  insecure: true'))).toEqual(['missing_key vrrp_script.chk.http.url @3:5']);
  });

  it('refuses URLs that are not http or https', () => {
    const errors = errorsOf(parse(withCheck('http:', '  url: ftp://127.0.0.1/readyz')));
    expect(errors.map(where)).toEqual(['invalid_value vrrp_script.chk.http.url @4:12']);
    expect(errors[0]!.message).toMatch(/https:\/\/127\.0\.0\.1:6443\/readyz/);
    expect(errorsAt(withCheck('http:', '  url: "not a url"'))).toEqual(['invalid_value vrrp_script.chk.http.url @4:12']);
  });

  it('refuses insecure together with ca_file, pointing at insecure', () => {
    const errors = errorsOf(parse(withCheck('http:', '  url: https://127.0.0.1:6443/readyz', '  ca_file: /etc/kubernetes/pki/ca.crt', '  insecure: true')));
    expect(errors.map(where)).toEqual(['invalid_value vrrp_script.chk.http.insecure @6:17']);
    expect(errors[0]!.message).toMatch(/ca_file/);
  });

  it('refuses half a client certificate', () => {
    const errors = errorsOf(parse(withCheck('http:', '  url: https://127.0.0.1:6443/readyz', '  key_file: /etc/vrrpd/client.key')));
    expect(errors.map(where)).toEqual(['missing_key vrrp_script.chk.http.key_file @5:17']);
    expect(errors[0]!.message).toMatch(/cert_file/);
  });

  it('refuses TLS options on a plain http URL', () => {
    expect(errorsAt(withCheck('http:', '  url: http://127.0.0.1:10256/healthz', '  ca_file: /etc/kubernetes/pki/ca.crt', '  insecure: true')))
      .toEqual(['invalid_value vrrp_script.chk.http.ca_file @5:16', 'invalid_value vrrp_script.chk.http.insecure @6:17']);
  });

  it('refuses relative file paths and bad status codes', () => {
    expect(errorsAt(withCheck('http:', '  url: https://127.0.0.1:6443/readyz', '  ca_file: pki/ca.crt', '  expected_status: [200, 700]')))
      .toEqual(['invalid_value vrrp_script.chk.http.ca_file @5:16', 'out_of_range vrrp_script.chk.http.expected_status[1] @6:30']);
    expect(errorsAt(withCheck('http:', '  url: https://127.0.0.1:6443/readyz', '  expected_status: []'))).toEqual(['invalid_value vrrp_script.chk.http.expected_status @5:24']);
  });

  it('refuses an unknown option with a suggestion', () => {
    const errors = errorsOf(parse(withCheck('http:', '  url: https://127.0.0.1:6443/readyz', '  cafile: /etc/kubernetes/pki/ca.crt')));
    expect(errors.map(where)).toEqual(['unknown_key vrrp_script.chk.http.cafile @5:7']);
    expect(errors[0]!.message).toMatch(/did you mean 'ca_file'/);
  });
});

describe('tcp check', () => {
  it('takes HOST:PORT or a mapping; host defaults to 127.0.0.1', () => {
    expect(checkOf(withCheck('tcp: 127.0.0.1:6443')).check).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 6443 });
    expect(checkOf(withCheck('tcp: "[::1]:6443"')).check).toEqual({ kind: 'tcp', host: '::1', port: 6443 });
    expect(checkOf(withCheck('tcp:', '  port: 2379')).check).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 2379 });
  });

  it('refuses host names (no DNS lookups every 100 ms) and ports out of range', () => {
    expect(errorsAt(withCheck('tcp:', '  host: localhost', '  port: 6443'))).toEqual(['invalid_value vrrp_script.chk.tcp.host @4:13']);
    expect(errorsAt(withCheck('tcp:', '  port: 70000'))).toEqual(['out_of_range vrrp_script.chk.tcp.port @4:13']);
    expect(errorsAt(withCheck('tcp: 127.0.0.1'))).toEqual(['missing_key vrrp_script.chk.tcp.port @3:5']);
  });
});

describe('process check', () => {
  it('takes a name or a mapping', () => {
    expect(checkOf(withCheck('process: kube-apiserver')).check).toEqual({ kind: 'process', name: 'kube-apiserver' });
    expect(checkOf(withCheck('process:', '  name: etcd')).check).toEqual({ kind: 'process', name: 'etcd' });
  });

  it('reads a name that looks like a number as text', () => {
    expect(checkOf(withCheck('process: 1234')).check).toEqual({ kind: 'process', name: '1234' });
  });

  it('refuses user (a built-in has no process to run as someone else)', () => {
    const errors = errorsOf(parse(withCheck('process: kube-apiserver', 'user: nobody')));
    expect(errors.map(where)).toEqual(['invalid_value vrrp_script.chk.user @4:5']);
    expect(errors[0]!.message).toMatch(/only applies to script checks/);
  });
});

describe('choice of check kind', () => {
  it('refuses two kinds in one vrrp_script, naming both', () => {
    const errors = errorsOf(parse(withCheck('process: kube-apiserver', 'script: "killall -0 kube-apiserver"')));
    expect(errors.map(where)).toEqual(['missing_check vrrp_script.chk @2:3']);
    expect(errors[0]!.message).toMatch(/has script and process/);
  });

  it('refuses none', () => {
    const errors = errorsOf(parse(withCheck('interval: 1')));
    expect(errors.map(where)).toEqual(['missing_check vrrp_script.chk @2:3']);
    expect(errors[0]!.message).toMatch(/script, http, tcp, process/);
  });

  it('still takes a keepalived script as before', () => {
    expect(checkOf(withCheck('script: "killall -0 kube-apiserver"')).check).toEqual({ kind: 'script', script: 'killall -0 kube-apiserver' });
  });
});

describe('examples/recommended', () => {
  const SEED = {
    master1: { source: '10.0.0.51', peers: ['10.0.0.52', '10.0.0.53'], priority: 100 },
    master2: { source: '10.0.0.52', peers: ['10.0.0.51', '10.0.0.53'], priority: 99 },
    master3: { source: '10.0.0.53', peers: ['10.0.0.51', '10.0.0.52'], priority: 98 },
  } as const;

  it.each(Object.entries(SEED))('%s loads clean with the apiserver http check at 200 ms, weight 0, preempt with a delay', (name, seed) => {
    const file = `recommended/${name}.yaml`;
    const result = acceptedConfig(parseConfigText(readFileSync(`${EXAMPLES_DIR}${file}`, 'utf8'), file));
    expect(result.warnings).toEqual([]);
    const { config } = result;
    const scripts = Object.values(config.vrrp_script);
    expect(scripts).toHaveLength(1);
    const apiserver = scripts[0]!;
    expect(apiserver.check).toMatchObject({ kind: 'http', url: 'https://127.0.0.1:6443/readyz', ca_file: '/etc/kubernetes/pki/ca.crt', insecure: false });
    expect(apiserver).toMatchObject({ interval: 0.2, weight: 0, rise: 2 });
    expect([2, 3]).toContain(apiserver.fall);

    const instance = config.vrrp_instance['VI_1']!;
    expect(instance).toMatchObject({
      interface: 'ens32', virtual_router_id: 251, priority: seed.priority, advert_int: 1, nopreempt: false,
      unicast_src_ip: ip(seed.source), unicast_peer: seed.peers.map(ip),
      virtual_ipaddress: [{ address: ip('10.0.0.50'), prefix_len: 32, dev: 'ens32' }],
      track_script: [{ name: apiserver.name }],
    });
    expect(instance.preempt_delay).toBeGreaterThan(0);
    // Weight 0 all the way to the core: a failing apiserver means FAULT, not a lower priority.
    const core = toInstanceConfig(instance, config, 0);
    expect(core.trackers).toContainEqual({ name: `script:${apiserver.name}`, weight: 0, reverse: false });
  });
});
