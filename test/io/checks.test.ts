/**
 * The built-in checks against real local servers and processes on this host (127.0.0.1 only):
 * http and https (certificates made with openssl: CA verification, server_name, client
 * certificates, insecure), one TLS handshake for many runs (keep-alive), timeouts, TLS files that
 * appear late; tcp; process by name (long names, zombies, as a non-root user where killall -0
 * fails); and the periodic runner with these probes, as the host starts the planned checks.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpCheckSpec, VrrpdConfig, VrrpScript } from '../../src/config/model.js';
import { HttpProbe } from '../../src/io/checks/http.js';
import { PeriodicCheck } from '../../src/io/checks/periodic.js';
import type { CheckLog, Probe } from '../../src/io/checks/probe.js';
import { ProcessProbe } from '../../src/io/checks/process.js';
import { TcpProbe } from '../../src/io/checks/tcp.js';
import { startChecks } from './run-checks.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let dir: string;
const quietLog: CheckLog = { debug() {}, info() {}, warn() {}, error() {} };

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A self-signed P-256 certificate for `cn` with DNS SAN `cn`; returns [certPath, keyPath]. */
function makeCert(name: string, cn: string): [string, string] {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${cn}`);
  return [cert, key];
}

async function listen<T extends HttpServer | HttpsServer | NetServer>(server: T): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function close(server: HttpServer | HttpsServer | NetServer): Promise<void> {
  (server as HttpServer).closeAllConnections?.();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  const port = await listen(server);
  await close(server);
  return port;
}

async function runOnce(probe: Probe, timeoutMs = 1000) {
  const run = probe.run(timeoutMs);
  const outcome = await run.outcome;
  await run.settled;
  return outcome;
}

function httpSpec(url: string, extra: Partial<HttpCheckSpec> = {}): Omit<HttpCheckSpec, 'kind'> {
  return { url, insecure: false, expected_status: [200], ...extra };
}

let serverCert: string;
let serverKey: string;
let clientCert: string;
let clientKey: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vrrpd-checks-'));
  chmodSync(dir, 0o755);
  // The apiserver's certificate names `kubernetes`, not 127.0.0.1: the same here.
  [serverCert, serverKey] = makeCert('server', 'kubernetes');
  [clientCert, clientKey] = makeCert('client', 'vrrpd-client');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('http check', () => {
  let server: HttpServer;
  let port: number;
  let status = 200;
  let hang = false;
  beforeAll(async () => {
    server = createHttpServer((req, res) => {
      if (hang) return; // never answer
      res.writeHead(req.url === '/readyz' ? status : 404).end('ok');
    });
    port = await listen(server);
  });
  afterAll(() => close(server));

  it('succeeds on an expected status and fails on any other, saying which', async () => {
    const probe = new HttpProbe(httpSpec(`http://127.0.0.1:${port}/readyz`));
    status = 200;
    expect(await runOnce(probe)).toEqual({ ok: true, detail: 'HTTP 200' });
    status = 500;
    expect(await runOnce(probe)).toEqual({ ok: false, detail: 'HTTP 500 (expected 200)' });
    const custom = new HttpProbe(httpSpec(`http://127.0.0.1:${port}/readyz`, { expected_status: [500, 503] }));
    expect((await runOnce(custom)).ok).toBe(true);
    status = 200;
    expect(await runOnce(custom)).toEqual({ ok: false, detail: 'HTTP 200 (expected 500 or 503)' });
    await probe.close();
    await custom.close();
  });

  it('fails on a refused connection', async () => {
    const probe = new HttpProbe(httpSpec(`http://127.0.0.1:${await closedPort()}/readyz`));
    const outcome = await runOnce(probe);
    expect(outcome.ok).toBe(false);
    expect(outcome.detail).toMatch(/ECONNREFUSED/);
  });

  it('fails at the timeout when the server does not answer', async () => {
    const probe = new HttpProbe(httpSpec(`http://127.0.0.1:${port}/readyz`));
    hang = true;
    const started = performance.now();
    const outcome = await runOnce(probe, 150);
    const elapsedMs = performance.now() - started;
    hang = false;
    expect(outcome).toEqual({ ok: false, detail: 'timed out after 150 ms', timedOut: true });
    expect(elapsedMs).toBeGreaterThanOrEqual(140);
    expect(elapsedMs).toBeLessThan(600);
    // The next run opens a fresh connection and works.
    expect((await runOnce(probe)).ok).toBe(true);
    await probe.close();
  });
});

describe('https check', () => {
  let server: HttpsServer;
  let port: number;
  let handshakes = 0;
  let connections = 0;
  beforeAll(async () => {
    server = createHttpsServer({ cert: readFileSync(serverCert), key: readFileSync(serverKey) }, (_req, res) => res.writeHead(200).end('ok'));
    server.on('secureConnection', () => handshakes++);
    server.on('connection', () => connections++);
    port = await listen(server);
  });
  afterAll(() => close(server));

  const url = () => `https://127.0.0.1:${port}/readyz`;

  it('verifies the server: unknown CA fails, CA without the right name fails, CA + server_name passes', async () => {
    const noCa = await runOnce(new HttpProbe(httpSpec(url())));
    expect(noCa.ok).toBe(false);
    expect(noCa.detail).toMatch(/self[- ]signed/i);

    const wrongName = await runOnce(new HttpProbe(httpSpec(url(), { ca_file: serverCert })));
    expect(wrongName.ok).toBe(false);
    expect(wrongName.detail).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID|IP: 127\.0\.0\.1 is not in the cert's list/);

    const probe = new HttpProbe(httpSpec(url(), { ca_file: serverCert, server_name: 'kubernetes' }));
    expect(await runOnce(probe)).toEqual({ ok: true, detail: 'HTTP 200' });
    await probe.close();
  });

  it('insecure: true accepts any certificate', async () => {
    const probe = new HttpProbe(httpSpec(url(), { insecure: true }));
    expect((await runOnce(probe)).ok).toBe(true);
    await probe.close();
  });

  it('keeps one connection: 50 runs cost one TLS handshake', async () => {
    const probe = new HttpProbe(httpSpec(url(), { ca_file: serverCert, server_name: 'kubernetes' }));
    const handshakesBefore = handshakes;
    const connectionsBefore = connections;
    for (let i = 0; i < 50; i++) expect((await runOnce(probe)).ok).toBe(true);
    expect(handshakes - handshakesBefore).toBe(1);
    expect(connections - connectionsBefore).toBe(1);
    expect(probe.connectionsOpened).toBe(1);
    await probe.close();
  });

  it('a missing CA file is a failed check until the file appears (kubeadm writes it after vrrpd starts)', async () => {
    const late = join(dir, 'late-ca.crt');
    const probe = new HttpProbe(httpSpec(url(), { ca_file: late, server_name: 'kubernetes' }));
    const missing = await runOnce(probe);
    expect(missing.ok).toBe(false);
    expect(missing.detail).toBe(`cannot read ca_file ${late}: ENOENT: no such file or directory, stat '${late}'`);
    copyFileSync(serverCert, late);
    expect((await runOnce(probe)).ok).toBe(true);
    await probe.close();
  });
});

describe('https check with a client certificate', () => {
  let server: HttpsServer;
  let port: number;
  beforeAll(async () => {
    server = createHttpsServer(
      { cert: readFileSync(serverCert), key: readFileSync(serverKey), ca: readFileSync(clientCert), requestCert: true, rejectUnauthorized: true },
      (_req, res) => res.writeHead(200).end('ok'),
    );
    port = await listen(server);
  });
  afterAll(() => close(server));

  it('fails without the certificate and passes with cert_file + key_file', async () => {
    const url = `https://127.0.0.1:${port}/readyz`;
    const without = await runOnce(new HttpProbe(httpSpec(url, { ca_file: serverCert, server_name: 'kubernetes' })));
    expect(without.ok).toBe(false);
    const probe = new HttpProbe(httpSpec(url, { ca_file: serverCert, server_name: 'kubernetes', cert_file: clientCert, key_file: clientKey }));
    expect(await runOnce(probe)).toEqual({ ok: true, detail: 'HTTP 200' });
    await probe.close();
  });
});

describe('tcp check', () => {
  it('succeeds when the connect completes and fails when it is refused', async () => {
    const server = createNetServer((socket) => socket.destroy());
    const port = await listen(server);
    expect(await runOnce(new TcpProbe({ host: '127.0.0.1', port }))).toEqual({ ok: true, detail: `connected to 127.0.0.1:${port}` });
    await close(server);
    const refused = await runOnce(new TcpProbe({ host: '127.0.0.1', port }));
    expect(refused.ok).toBe(false);
    expect(refused.detail).toMatch(/ECONNREFUSED/);
  });

  it('fails at the timeout when the connect hangs (a full accept queue drops SYNs)', async () => {
    // A listener with backlog 0 that never accepts: once its queue holds one connection, further
    // SYNs are dropped and a connect hangs, all on 127.0.0.1.
    const listener = spawn('python3', ['-c', [
      'import socket,sys,time',
      's=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(0)',
      'print(s.getsockname()[1], flush=True)',
      'time.sleep(60)',
    ].join('\n')], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<number>((resolve) => listener.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
      const fillers = [new TcpProbe({ host: '127.0.0.1', port }), new TcpProbe({ host: '127.0.0.1', port })];
      // Keep the filler sockets open: connect, and do not close (run without awaiting settled).
      const held = await Promise.all(fillers.map((p) => p.run(300).outcome));
      void held;
      const started = performance.now();
      const outcome = await runOnce(new TcpProbe({ host: '127.0.0.1', port }), 200);
      const elapsedMs = performance.now() - started;
      expect(outcome).toEqual({ ok: false, detail: 'timed out after 200 ms', timedOut: true });
      expect(elapsedMs).toBeGreaterThanOrEqual(190);
      expect(elapsedMs).toBeLessThan(700);
    } finally {
      listener.kill('SIGKILL');
    }
  });
});

describe('process check', () => {
  const children: ChildProcess[] = [];
  /** Start a copy of sleep whose executable (and so comm) is `name`. */
  function fake(name: string, argv0 = name): ChildProcess {
    const path = join(dir, name);
    copyFileSync('/bin/sleep', path);
    chmodSync(path, 0o755);
    const child = spawn(path, ['60'], { argv0, stdio: 'ignore' });
    children.push(child);
    return child;
  }
  afterAll(() => {
    for (const child of children) child.kill('SIGKILL');
  });

  async function found(name: string): Promise<boolean> {
    return (await runOnce(new ProcessProbe({ name }))).ok;
  }

  it('finds a process by its name and stops finding it once it is gone', async () => {
    const child = fake('vrrpdfake7q');
    await sleep(50);
    const probe = new ProcessProbe({ name: 'vrrpdfake7q' });
    expect(await runOnce(probe)).toEqual({ ok: true, detail: `vrrpdfake7q running as pid ${child.pid}` });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(await runOnce(probe)).toEqual({ ok: false, detail: 'no process named vrrpdfake7q' });
    expect(await found('vrrpdfake7')).toBe(false); // a prefix is not the name
  });

  it('matches names longer than 15 characters by argv[0], as killall does', async () => {
    fake('kube-apiserver-vrrpd-test', '/usr/local/bin/kube-apiserver-vrrpd-test');
    fake('kube-apiserver-vrrpd-other');
    await sleep(50);
    expect(await found('kube-apiserver-vrrpd-test')).toBe(true);
    expect(await found('kube-apiserver-vrrpd-other')).toBe(true);
    // Same 15-character comm ("kube-apiserver-") but no such argv[0].
    expect(await found('kube-apiserver-vrrpd-absent')).toBe(false);
  });

  it('does not count a zombie', async () => {
    const path = join(dir, 'vrrpdzomb9');
    copyFileSync('/bin/true', path);
    chmodSync(path, 0o755);
    // The shell starts it, then becomes sleep, which never reaps it: a zombie named vrrpdzomb9.
    const parent = spawn('/bin/sh', ['-c', `${path} & exec sleep 60`], { stdio: 'ignore' });
    children.push(parent);
    await sleep(200);
    const zombie = execFileSync('sh', ['-c', `grep -l '^vrrpdzomb9$' /proc/[0-9]*/comm || true`], { encoding: 'utf8' }).trim();
    expect(zombie).not.toBe('');
    expect(readFileSync(zombie.replace('/comm', '/stat'), 'latin1')).toMatch(/\) Z /);
    expect(await found('vrrpdzomb9')).toBe(false);
  });

  it('re-checks the last match first instead of scanning /proc every run', async () => {
    fake('vrrpdcache3');
    await sleep(50);
    const probe = new ProcessProbe({ name: 'vrrpdcache3' });
    for (let i = 0; i < 20; i++) expect((await runOnce(probe)).ok).toBe(true);
    expect(probe.scans).toBe(1);
  });

  it('works as a non-root user, where killall -0 gets EPERM on root processes', async () => {
    const root = fake('vrrpdroot5x');
    await sleep(50);
    // nobody gets what it runs in a directory of its own: the checkout may sit in a private (0700)
    // directory, as CI's clone may, where another user can read nothing.
    const forNobody = mkdtempSync(join(tmpdir(), 'vrrpd-nobody-'));
    chmodSync(forNobody, 0o755);
    const source = readFileSync(`${ROOT}src/io/checks/process.ts`, 'utf8');
    const compiled = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
    writeFileSync(join(forNobody, 'process.mjs'), compiled.outputText, { mode: 0o644 });
    const asNobody = { uid: 65534, gid: 65534, encoding: 'utf8' as const, cwd: '/' };
    try {
      const killall = spawnSync('killall', ['-0', 'vrrpdroot5x'], asNobody);
      expect(killall.status).not.toBe(0);
      expect(killall.stderr).toMatch(/Operation not permitted/);
      const script = `import('${forNobody}/process.mjs').then((m) => console.log(new m.ProcessProbe({ name: 'vrrpdroot5x' }).find()))`;
      const probe = spawnSync(process.execPath, ['-e', script], asNobody);
      expect(probe.stderr).toBe('');
      expect(probe.stdout.trim()).toBe(String(root.pid));
    } finally {
      rmSync(forNobody, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('built-in checks under the periodic runner', () => {
  function config(check: VrrpScript['check'], extra: Partial<VrrpScript> = {}): VrrpdConfig {
    const script: VrrpScript = { name: 'api', check, interval: 0.1, timeout: 0.1, weight: 0, reverse: false, rise: 2, fall: 2, init_fail: false, ...extra };
    return {
      vrrpd: {},
      global_defs: { vrrp_version: 2, enable_script_security: true, vrrp_garp_master_delay: 5, vrrp_garp_master_repeat: 5, vrrp_garp_master_refresh: 0, vrrp_skip_check_adv_addr: false, vrrp_startup_delay: 0, vrrp_check_unicast_src: true },
      vrrp_script: { api: script },
      vrrp_instance: {
        VI_1: {
          name: 'VI_1', state: 'BACKUP', interface: 'eth0', virtual_router_id: 1, priority: 100, version: 2, advert_int: 1, nopreempt: false, preempt_delay: 0,
          unicast_peer: [], virtual_ipaddress: [], track_script: [{ name: 'api' }], track_interface: [], dont_track_primary: false,
          garp_master_delay: 5, garp_master_repeat: 5, garp_master_refresh: 0, check_unicast_src: true, skip_check_adv_addr: false,
        },
      },
    };
  }

  it('an https check at 100 ms reports a failing apiserver at its next run, and its return at the run after', async () => {
    let ready = true;
    const server = createHttpsServer({ cert: readFileSync(serverCert), key: readFileSync(serverKey) }, (_req, res) => res.writeHead(ready ? 200 : 500).end());
    const port = await listen(server);
    const events: { atMs: number; ok: boolean; detail: string }[] = [];
    const checks = startChecks(
      config({ kind: 'http', url: `https://127.0.0.1:${port}/readyz`, ca_file: serverCert, server_name: 'kubernetes', insecure: false, expected_status: [200] }),
      (name, ok, detail) => {
        expect(name).toBe('script:api');
        events.push({ atMs: performance.now(), ok, detail });
      },
      quietLog,
    );
    try {
      // A run can time out at 100 ms on a loaded machine; rise/fall (the engine's) absorbs that.
      await waitFor(() => events.some((e) => e.ok), 2000);
      expect(events.find((e) => e.ok)).toMatchObject({ ok: true, detail: 'HTTP 200' });
      const failedAtMs = performance.now();
      ready = false;
      await waitFor(() => events.some((e) => e.atMs >= failedAtMs && e.detail.startsWith('HTTP 500')), 2000);
      const failure = events.find((e) => e.atMs >= failedAtMs && e.detail.startsWith('HTTP 500'))!;
      expect(failure.detail).toBe('HTTP 500 (expected 200)');
      // At 100 ms: the next run, plus scheduling slack.
      expect(failure.atMs - failedAtMs).toBeLessThan(300);
      const backAtMs = performance.now();
      ready = true;
      await waitFor(() => events.at(-1)!.ok, 2000);
      expect(events.at(-1)!.atMs - backAtMs).toBeLessThan(300);
      const [stats] = checks.stats();
      expect(stats).toMatchObject({ kind: 'http', intervalMs: 100, timeoutMs: 100, skipped: 0 });
    } finally {
      await checks.stop();
      await close(server);
    }
  });

  it('a tcp and a process check report through the same callback', async () => {
    const server = createNetServer((socket) => socket.destroy());
    const port = await listen(server);
    const seen: string[] = [];
    const report = (n: string, ok: boolean, d: string): void => {
      if (seen.length < 2) seen.push(`${n} ${ok ? 'ok' : 'failed'} ${d}`);
    };
    const tcp = startChecks(config({ kind: 'tcp', host: '127.0.0.1', port }, { interval: 10, timeout: 2 }), report, quietLog);
    const proc = startChecks(config({ kind: 'process', name: 'no-such-process-xyz' }, { interval: 10, timeout: 2 }), report, quietLog);
    await waitFor(() => seen.length === 2, 2000);
    await tcp.stop();
    await proc.stop();
    await close(server);
    expect(seen.sort()).toEqual([`script:api failed no process named no-such-process-xyz`, `script:api ok connected to 127.0.0.1:${port}`]);
  });

  it('a result handler that throws does not stop the check', async () => {
    let ok = true;
    const flipping: Probe = { kind: 'tcp', run: () => ({ outcome: Promise.resolve({ ok, detail: String(ok) }), settled: Promise.resolve() }), close: async () => {} };
    const errors: string[] = [];
    const seen: string[] = [];
    const check = new PeriodicCheck({
      trackerName: 'script:flip', intervalMs: 20, timeoutMs: 20, probe: flipping,
      onResult: (result) => { seen.push(result ? 'ok' : 'failed'); throw new Error('daemon broke'); },
      log: { ...quietLog, error: (_o, msg) => errors.push(msg) },
    });
    check.start();
    await waitFor(() => seen.length >= 1, 1000);
    ok = false;
    await waitFor(() => seen.includes('failed'), 1000);
    await check.stop();
    expect(seen[0]).toBe('ok');
    expect(errors.length).toBe(seen.length);
    expect(new Set(errors)).toEqual(new Set(['check result handler threw']));
  });

  it('a check slower than its interval is skipped, not overlapped', async () => {
    let active = 0;
    let maxActive = 0;
    const slow: Probe = {
      kind: 'tcp',
      run: () => {
        active++;
        maxActive = Math.max(maxActive, active);
        const done = sleep(250).then(() => { active--; });
        return { outcome: done.then(() => ({ ok: true, detail: 'slow' })), settled: done };
      },
      close: async () => {},
    };
    const check = new PeriodicCheck({ trackerName: 'script:slow', intervalMs: 100, timeoutMs: 1000, probe: slow, onResult: () => undefined, log: quietLog });
    check.start();
    await sleep(1050);
    await check.stop();
    expect(maxActive).toBe(1);
    const stats = check.stats();
    expect(stats.runs).toBeGreaterThanOrEqual(3);
    expect(stats.runs).toBeLessThanOrEqual(5);
    expect(stats.skipped).toBeGreaterThanOrEqual(5);
    expect(stats.runs + stats.skipped).toBeGreaterThanOrEqual(10);
  });
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('timed out waiting');
    await sleep(10);
  }
}
