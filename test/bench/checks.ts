/**
 * What a health check costs the daemon at short intervals: CPU time of this process (user+system,
 * process.cpuUsage) and of its reaped children (/proc/self/stat cutime+cstime, for the fork/exec
 * script check) over a fixed period, as % of one core, plus the event loop's p99 delay (what the
 * VRRP timers would feel). The HTTPS "apiserver" runs in another process so its own CPU is not
 * counted.
 *
 * Variants, each for --seconds (default 60) at --interval-ms (default 100):
 * - idle:            no check at all (the floor: Node's own timers and GC)
 * - http-keepalive:  the built-in http check as shipped (CA + server_name, one kept TLS connection)
 * - http-handshake:  the same with a new connection (TCP + TLS handshake) every run, for comparison
 * - tcp:             the built-in tcp check (connect + close)
 * - process:         the built-in process check (cached pid: two small /proc reads per run)
 * - killall:         keepalived's way: fork/exec `killall -0 NAME` every interval
 * "us/run" is all CPU in the period divided by the runs, so it includes the idle floor; "net %"
 * subtracts the idle variant's share (list idle first to get it).
 *
 *   node --import ./test/register.mjs test/bench/checks.ts [--seconds 60] [--interval-ms 100] [--only http-keepalive,idle]
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { HttpProbe } from '../../src/io/checks/http.js';
import { PeriodicCheck } from '../../src/io/checks/periodic.js';
import type { CheckLog, Probe, ProbeRun } from '../../src/io/checks/probe.js';
import { ProcessProbe } from '../../src/io/checks/process.js';
import { prepareScript } from '../../src/io/checks/script.js';
import { TcpProbe } from '../../src/io/checks/tcp.js';

const VARIANTS = ['idle', 'http-keepalive', 'http-handshake', 'tcp', 'process', 'killall'] as const;
type Variant = (typeof VARIANTS)[number];

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    'interval-ms': { type: 'string', default: '100' },
    only: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const intervalMs = Number(values['interval-ms']);
const selected = (values.only?.split(',') ?? [...VARIANTS]) as Variant[];
for (const v of selected) if (!VARIANTS.includes(v)) throw new Error(`unknown variant ${v}; known: ${VARIANTS.join(', ')}`);

const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
/** The event-loop delay sampler's period; it wakes the loop too, in every variant alike. */
const LOOP_RESOLUTION_MS = 20;
const quietLog: CheckLog = { debug() {}, info() {}, warn() {}, error() {} };

/** CPU ms of reaped children (utime+stime of waited-for children, fields 16 and 17 of stat). */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

const dir = mkdtempSync(join(tmpdir(), 'vrrpd-bench-'));
chmodSync(dir, 0o755);
const children: ChildProcess[] = [];

async function main(): Promise<void> {
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=kubernetes', '-addext', 'subjectAltName=DNS:kubernetes'], { stdio: 'ignore' });

  // The apiserver stand-in, in its own process: GET /readyz -> 200 "ok".
  const server = spawn(process.execPath, ['-e', `
    const https = require('node:https');
    const fs = require('node:fs');
    const s = https.createServer({ cert: fs.readFileSync(${JSON.stringify(cert)}), key: fs.readFileSync(${JSON.stringify(key)}) },
      (req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
    s.keepAliveTimeout = 120000;
    s.listen(0, '127.0.0.1', () => console.log(s.address().port));
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(server);
  const port = await new Promise<number>((resolve) => server.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));

  // A process to look for, like kube-apiserver.
  const fakeName = 'benchapiserver';
  copyFileSync('/bin/sleep', join(dir, fakeName));
  chmodSync(join(dir, fakeName), 0o755);
  children.push(spawn(join(dir, fakeName), ['3600'], { stdio: 'ignore' }));
  await sleep(100);

  const url = `https://127.0.0.1:${port}/readyz`;
  const httpSpec = { url, ca_file: cert, server_name: 'kubernetes', insecure: false, expected_status: [200] };

  /** A probe that throws its connection away after every run: the cost keep-alive saves. */
  const handshakeEveryRun: Probe = {
    kind: 'http',
    run(timeoutMs: number): ProbeRun {
      const probe = new HttpProbe(httpSpec);
      const run = probe.run(timeoutMs);
      return { outcome: run.outcome, settled: run.settled.then(() => probe.close()) };
    },
    close: async () => {},
  };

  const probes: Record<Exclude<Variant, 'idle'>, () => Probe> = {
    'http-keepalive': () => new HttpProbe(httpSpec),
    'http-handshake': () => handshakeEveryRun,
    tcp: () => new TcpProbe({ host: '127.0.0.1', port }),
    process: () => new ProcessProbe({ name: fakeName }),
    killall: () => prepareScript({ name: 'killall', command: `killall -0 ${fakeName}`, user: undefined, enableScriptSecurity: true }).probe,
  };

  console.log(`# health check cost: ${seconds} s per variant, interval ${intervalMs} ms, node ${process.version}, ${CLOCK_TICKS_PER_SECOND} ticks/s`);
  console.log('variant          runs  fail  skip   cpu ms  % of a core   us/run  net % (- idle)  loop lag p99 ms');
  let idlePercent: number | undefined;
  for (const variant of selected) {
    const probe = variant === 'idle' ? undefined : probes[variant]();
    const check = probe && new PeriodicCheck({
      trackerName: `script:${variant}`, intervalMs, timeoutMs: intervalMs, probe, onResult: () => undefined, log: quietLog,
    });
    const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    // Warm-up: JIT, first TLS handshake, first /proc scan are not the steady state.
    check?.start();
    await sleep(2000);
    const statsBefore = check?.stats();
    const cpuBefore = process.cpuUsage();
    const childrenBefore = childrenCpuMs();
    loop.enable();
    await sleep(seconds * 1000);
    loop.disable();
    const cpu = process.cpuUsage(cpuBefore);
    const childrenMs = childrenCpuMs() - childrenBefore;
    const stats = check?.stats();
    await check?.stop();
    const cpuMs = (cpu.user + cpu.system) / 1000 + childrenMs;
    const runs = stats && statsBefore ? stats.runs - statsBefore.runs : 0;
    const failures = stats && statsBefore ? stats.failures - statsBefore.failures : 0;
    const skipped = stats && statsBefore ? stats.skipped - statsBefore.skipped : 0;
    const percent = (cpuMs / (seconds * 1000)) * 100;
    if (variant === 'idle') idlePercent = percent;
    const perRunUs = runs > 0 ? (cpuMs * 1000) / runs : 0;
    const net = idlePercent === undefined || variant === 'idle' ? '-' : (percent - idlePercent).toFixed(2);
    // The histogram records the sampling timer's whole period; the lag is what exceeds it.
    const lagMs = Math.max(0, loop.percentile(99) / 1e6 - LOOP_RESOLUTION_MS);
    console.log(
      `${variant.padEnd(15)} ${String(runs).padStart(5)} ${String(failures).padStart(5)} ${String(skipped).padStart(5)} ${cpuMs.toFixed(0).padStart(8)} ${percent.toFixed(2).padStart(12)} ${perRunUs.toFixed(0).padStart(8)} ${net.padStart(15)} ${lagMs.toFixed(2).padStart(16)}`,
    );
  }
}

try {
  await main();
} finally {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
