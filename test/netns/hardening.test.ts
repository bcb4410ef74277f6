/**
 * Hardening on a real kernel (issue 8): the seed's three masters (unicast, PASS, VIP 10.0.0.50)
 * in network and PID namespaces (src/lab/cluster.ts), watched from outside the daemons:
 * the kernel's address notifications (VipWatch), tcpdump, /proc of each node, and the control
 * socket timed from here.
 *
 * - a non-peer's valid, higher-priority advert is ignored (check_unicast_src is on by default);
 * - link flap on the master, 10 times in 10 s: one master again soon after, no long dual master;
 * - partition and heal: dual master during it, one master within one advert interval after it,
 *   and the winner re-sends GARP (seen on the client);
 * - a hung track script is killed at its timeout and the daemon keeps answering `status` fast;
 * - a wall-clock step of +-1 h changes nothing: every timer runs on CLOCK_MONOTONIC.
 *
 * The clock step is not made on the machine's clock: CLOCK_REALTIME is one for the whole host (a
 * time namespace offsets only MONOTONIC and BOOTTIME), so `date -s` would also step every other
 * process here, including other test runs whose deadlines and capture timestamps are wall-clock.
 * Instead the two daemons run with a small LD_PRELOAD library (compiled here) that steps
 * CLOCK_REALTIME, gettimeofday() and time() for them alone, on a schedule of CLOCK_MONOTONIC
 * instants. That is what a real step looks like from inside the process (V8's Date, pino's
 * timestamps, libuv) without touching anyone else; the test checks that the step was really seen
 * (status computes wall times from Date.now()) and that the protocol did not notice.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { masterDownIntervalMs } from '../../src/core/timers.js';
import { Cluster, type Master } from '../../src/lab/cluster.js';
import type { VrrpdProcess } from '../../src/lab/daemons.js';
import { decodeArp, Wire } from '../../src/lab/wire.js';
import type { FloodPlan, FloodReport } from './flood-sender.js';
import { labUnavailableReason } from './lab.js';
import { seedNodeYaml, sleep, waitUntil } from './vrrpd.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..', '..');
const ADVERT_INTERVAL_MS = 1000;
const results: string[] = [];

/** Time one `status` request over the control socket, connect to answer. */
function statusRoundTripMs(socketPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(socketPath);
    let buffered = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no status answer within 2 s on ${socketPath}`));
    }, 2_000);
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(`${JSON.stringify({ command: 'status' })}\n`));
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (!buffered.includes('\n')) return;
      const took = performance.now() - started;
      clearTimeout(timer);
      socket.destroy();
      const reply = JSON.parse(buffered) as { ok: boolean };
      if (!reply.ok) reject(new Error(`status refused: ${buffered}`));
      else resolve(took);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** A gratuitous ARP for `address` in an Ethernet frame: sender MAC, or undefined if it is none. */
function garpSender(frame: Uint8Array, address: string): string | undefined {
  const arp = decodeArp(frame);
  return arp?.gratuitous && arp.senderIp === address ? arp.senderMac : undefined;
}

/**
 * An LD_PRELOAD library that adds an offset to CLOCK_REALTIME (and gettimeofday, time) of the
 * process it is loaded in. VRRPD_TEST_CLOCK_STEPS="MONO_NS:OFFSET_S,..." sets the offset to
 * OFFSET_S seconds from the CLOCK_MONOTONIC instant MONO_NS on (each entry replaces the last).
 */
const CLOCK_STEP_SHIM = String.raw`
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

#define MAX_STEPS 16
static int (*real_clock_gettime)(clockid_t, struct timespec *);
static int steps;
static int64_t step_at_ns[MAX_STEPS];
static int64_t step_offset_ns[MAX_STEPS];

__attribute__((constructor)) static void init(void) {
  real_clock_gettime = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
  const char *spec = getenv("VRRPD_TEST_CLOCK_STEPS");
  while (spec != NULL && *spec != '\0' && steps < MAX_STEPS) {
    char *end;
    step_at_ns[steps] = strtoll(spec, &end, 10);
    if (*end != ':') break;
    step_offset_ns[steps] = strtoll(end + 1, &end, 10) * 1000000000LL;
    steps++;
    if (*end != ',') break;
    spec = end + 1;
  }
}

static int64_t offset_now(void) {
  struct timespec mono;
  real_clock_gettime(CLOCK_MONOTONIC, &mono);
  int64_t now = (int64_t)mono.tv_sec * 1000000000LL + mono.tv_nsec;
  int64_t offset = 0;
  for (int i = 0; i < steps; i++) if (now >= step_at_ns[i]) offset = step_offset_ns[i];
  return offset;
}

int clock_gettime(clockid_t id, struct timespec *ts) {
  int result = real_clock_gettime(id, ts);
  if (result == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) {
    int64_t ns = (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec + offset_now();
    ts->tv_sec = ns / 1000000000LL;
    ts->tv_nsec = ns % 1000000000LL;
  }
  return result;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
  (void)tz;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (tv != NULL) {
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
  }
  return 0;
}

time_t time(time_t *out) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (out != NULL) *out = ts.tv_sec;
  return ts.tv_sec;
}
`;

describe.skipIf(labUnavailableReason !== undefined)('hardening on a real kernel', () => {
  let mixed: Cluster;

  beforeAll(async () => {
    mixed = await Cluster.create();
  });
  beforeEach(async () => {
    await mixed.reset();
  });
  afterAll(async () => {
    for (const line of results) console.log(line);
    await mixed?.destroy();
  });

  /** The seed's cluster, master1 first so that it wins; resolves once master1 alone holds the VIP. */
  const cluster = async (yaml: (index: 1 | 2 | 3) => string = (index) => seedNodeYaml({ index, unicast: true })): Promise<VrrpdProcess[]> => {
    const m1 = await mixed.node('m1').startVrrpd(yaml(1), '.yaml');
    await m1.waitForLine((l) => l.msg === 'vrrpd started', 10_000);
    const m2 = await mixed.node('m2').startVrrpd(yaml(2), '.yaml');
    const m3 = await mixed.node('m3').startVrrpd(yaml(3), '.yaml');
    await mixed.vips.waitForHolders(['m1'], 10_000, 'master1 elected');
    // Both backups follow master1 (BACKUP, its address, at least one of its adverts heard): polled
    // instead of a fixed 1.2 s wait.
    await waitUntil(
      async () => {
        const backups = await Promise.all([m2, m3].map(async (d) => (await d.status()).instances[0]!));
        return backups.every((b) => b.state === 'BACKUP' && b.master_address === '10.0.0.51' && Number(b.adverts_received) >= 1);
      },
      5_000,
      'the backups to follow master1',
      100,
    );
    return [m1, m2, m3];
  };

  const states = async (daemons: VrrpdProcess[]): Promise<string[]> =>
    Promise.all(daemons.map(async (d) => String((await d.status()).instances[0]!.state)));

  it('a non-peer sending valid higher-priority adverts in unicast mode is ignored (unknown_peer)', async () => {
    const daemons = await cluster();
    const [m1, m2] = daemons as [VrrpdProcess, VrrpdProcess, VrrpdProcess];
    const marks = daemons.map((d) => d.lines.length);
    const from = Date.now();
    // The client (10.0.0.10, in no unicast_peer list) claims the VIP at priority 255, the
    // address owner's priority, to master1 and master2, 10 per second for longer than Master_Down.
    const target = (n: 1 | 2) => ({
      mac: mixed.lab.host(`m${n}`).mac,
      address: `10.0.0.5${n}`,
      source: '10.0.0.10',
      vrid: 251,
      authPass: '123456',
      advertIntervalSec: 1,
      vips: ['10.0.0.50'],
      peers: [1, 2, 3].filter((i) => i !== n).map((i) => `10.0.0.5${i}`),
    });
    const plan: FloodPlan = { kind: 'valid', ifname: 'ens32', targets: [target(1), target(2)], ratePps: 10, durationMs: 4_500, seed: 1, priority: 255 };
    const sender = await mixed.lab.exec('client', process.execPath, ['--import', join(HERE, '..', 'register.mjs'), join(HERE, 'flood-sender.ts'), JSON.stringify(plan)], 20_000);
    expect(sender.code, sender.stderr).toBe(0);
    const report = JSON.parse(sender.stdout.trim().split('\n').at(-1)!) as FloodReport;
    await sleep(500);

    expect(report.targets.map((t) => t.expected)).toEqual([{ unknown_peer: 45 }, { unknown_peer: 45 }]);
    expect(await states(daemons)).toEqual(['MASTER', 'BACKUP', 'BACKUP']);
    daemons.forEach((d, i) => expect(d.lines.slice(marks[i]).filter((l) => typeof l.to === 'string')).toEqual([]));
    expect(mixed.vips.since(from)).toEqual([]);
    expect(mixed.vips.holders()).toEqual(['m1']);
    const s1 = (await m1.status()).instances[0]!;
    const s2 = (await m2.status()).instances[0]!;
    expect(s1.dropped).toEqual({ unknown_peer: 45 });
    expect(s2.dropped).toEqual({ unknown_peer: 45 });
    expect(s1.master_address).toBe('10.0.0.51');
    expect(s2.master_address).toBe('10.0.0.51');
    const logged = m1.lines.slice(marks[0]).filter((l) => l.reason === 'unknown_peer');
    expect(logged).toHaveLength(1); // rate-limited: one line per 10 s
    expect(logged[0]).toMatchObject({ source: '10.0.0.10' });
    results.push(`non-peer at priority 255: ${report.sent} adverts ignored; master1 dropped ${JSON.stringify(s1.dropped)}, master2 ${JSON.stringify(s2.dropped)}`);
  });

  it('link flap on the master, 10 times in 10 s: a single master after the link settles, no dual master longer than one advert interval', async () => {
    const daemons = await cluster();
    const from = Date.now();
    for (let i = 0; i < 10; i++) {
      await mixed.lab.linkDown('m1', 'admin');
      await sleep(500);
      await mixed.lab.linkUp('m1', 'admin');
      await sleep(i === 9 ? 0 : 500);
    }
    const settledAt = Date.now();
    // master1 (100) is back in BACKUP; it ignores master2's adverts at 99 and takes over after
    // Master_Down(100). Wait for that, then watch the steady state for a while.
    const singleAt = await mixed.vips.waitForHolders(['m1'], masterDownIntervalMs(1, 100) + 3_000, 'master1 alone after the flaps');
    await sleep(2_500);
    const dualAfter = mixed.vips.dualMs(settledAt);
    const during = mixed.vips.describe(from);
    results.push(`link flap x10: VIP moves ${during}; dual master after the link settled ${dualAfter} ms, in all ${mixed.vips.dualMs(from)} ms; single master ${singleAt - settledAt} ms after the last link up`);
    expect(dualAfter).toBeLessThanOrEqual(ADVERT_INTERVAL_MS);
    expect(mixed.vips.holders()).toEqual(['m1']);
    expect(mixed.vips.maxHolders(singleAt + 1)).toBe(1);
    expect(await states(daemons)).toEqual(['MASTER', 'BACKUP', 'BACKUP']);
    // The flaps were seen: master1 went through FAULT (link tracking) and master2 took over.
    expect(daemons[0]!.lines.filter((l) => l.to === 'FAULT').length).toBeGreaterThanOrEqual(5);
    expect(daemons[1]!.lines.some((l) => l.to === 'MASTER')).toBe(true);
  }, 60_000);

  it('partition and heal: dual master while cut off, one master within one advert interval after the heal, and the winner re-sends GARP', async () => {
    const daemons = await cluster();
    const [m1, m2] = daemons as [VrrpdProcess, VrrpdProcess, VrrpdProcess];
    await mixed.partition('m1');
    const cutAt = Date.now();
    await mixed.vips.waitForHolders(['m1', 'm2'], masterDownIntervalMs(1, 99) + 2_000, 'master2 to take over beside the cut-off master1');
    const dualFrom = Date.now();
    await sleep(1_500);
    const arp = await mixed.lab.tcpdump('client', 'arp');
    const mark = m2.lines.length;
    await mixed.heal('m1');
    const healAt = Date.now();
    const singleAt = await mixed.vips.waitForHolders(['m1'], 3_000, 'master1 alone after the heal');
    await sleep(1_500);
    const frames = await arp.stop();
    const garps = frames.filter((f) => f.timeMs >= healAt - 5 && garpSender(f.bytes, '10.0.0.50') === mixed.lab.host('m1').mac);
    const strayGarps = frames.filter((f) => f.timeMs >= singleAt + 50 && garpSender(f.bytes, '10.0.0.50') === mixed.lab.host('m2').mac);
    const dualAfter = mixed.vips.dualMs(healAt);
    results.push(
      `partition: master2 took over ${dualFrom - cutAt} ms after the cut (dual master for ${healAt - dualFrom} ms while cut); heal -> single master in ${singleAt - healAt} ms (dual after the heal ${dualAfter} ms); ${garps.length} GARP frames from master1 on the client, the first ${garps.length > 0 ? Math.round(garps[0]!.timeMs - healAt) : '-'} ms after the heal`,
    );
    expect(mixed.vips.maxHolders(cutAt)).toBe(2);
    expect(dualAfter).toBeLessThanOrEqual(ADVERT_INTERVAL_MS);
    expect(singleAt - healAt).toBeLessThanOrEqual(ADVERT_INTERVAL_MS);
    expect(garps.length).toBeGreaterThanOrEqual(1);
    expect(garps[0]!.timeMs - healAt).toBeLessThanOrEqual(ADVERT_INTERVAL_MS + 200);
    expect(strayGarps).toEqual([]);
    expect(m2.lines.slice(mark).find((l) => l.to === 'BACKUP')).toMatchObject({ reason: 'higher_priority_advert' });
    expect(await states(daemons)).toEqual(['MASTER', 'BACKUP', 'BACKUP']);
    expect((await m1.status()).instances[0]!.garp_bursts).toBeGreaterThanOrEqual(2);
  });

  it('a hung track script (sleep 1000, timeout 1 s) is killed at its timeout, the tracker fails, and status answers in under 100 ms meanwhile', async () => {
    const node = mixed.node('m1');
    // A second script ignores SIGTERM, so only the SIGKILL 2 s after the timeout can end it.
    const stubborn = join(mkdtempSync(join(tmpdir(), 'vrrpd-hang-')), 'stubborn.sh');
    writeFileSync(stubborn, "#!/bin/sh\ntrap '' TERM\nexec sleep 1001\n", { mode: 0o755 });
    const yaml = `vrrp_script:
  hang:
    script: "sleep 1000"
    interval: 2
    timeout: 1
    weight: -20
  stubborn:
    script: "${stubborn}"
    interval: 2
    timeout: 1
    weight: -10
${seedNodeYaml({ index: 1, unicast: true, extraInstanceYaml: '    track_script:\n      - hang\n      - stubborn\n' })}`;
    const m1 = await node.startVrrpd(yaml, '.yaml');
    try {
      await m1.waitForLine((l) => l.msg === 'vrrpd started', 10_000);

      // Watch the node's processes (its own PID namespace) and time the control socket meanwhile.
      const seen = new Map<string, { args: string; first: number; last: number }>();
      const latencies: number[] = [];
      const until = Date.now() + 9_000;
      let polls = 0;
      while (Date.now() < until) {
        const ps = await node.exec('ps', ['-eo', 'pid=,args=']);
        const now = Date.now();
        polls++;
        for (const line of ps.stdout.split('\n')) {
          const match = /^\s*(\d+)\s+(sleep 100[01])\s*$/.exec(line);
          if (!match) continue;
          const entry = seen.get(match[1]!) ?? { args: match[2]!, first: now, last: now };
          entry.last = now;
          seen.set(match[1]!, entry);
        }
        if (polls % 3 === 0) latencies.push(await statusRoundTripMs(m1.socketPath));
        await sleep(50);
      }
      const status = (await m1.status()).instances[0]!;
      const finalPs = await node.exec('ps', ['-eo', 'pid=,etimes=,args=']);
      const lived = [...seen.values()].map((e) => ({ args: e.args, ms: e.last - e.first }));
      const older = finalPs.stdout.split('\n').filter((line) => /^\s*\d+\s+(\d+)\s+sleep 100[01]/.exec(line) && Number(/^\s*\d+\s+(\d+)/.exec(line)![1]) > 3);
      latencies.sort((a, b) => a - b);
      results.push(
        `hung scripts: ${lived.filter((l) => l.args === 'sleep 1000').length} runs of 'sleep 1000' seen alive for at most ${Math.max(...lived.filter((l) => l.args === 'sleep 1000').map((l) => l.ms))} ms, ${lived.filter((l) => l.args === 'sleep 1001').length} of the TERM-ignoring one for at most ${Math.max(...lived.filter((l) => l.args === 'sleep 1001').map((l) => l.ms))} ms; status round trip over ${latencies.length} requests: median ${latencies[Math.floor(latencies.length / 2)]!.toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms; trackers ${JSON.stringify(status.trackers)}, effective priority ${String(status.effective_priority)}`,
      );
      // Both scripts were really started, more than once, and each run died at its deadline:
      // 'sleep 1000' at the 1 s timeout (SIGTERM), the stubborn one at timeout + 2 s (SIGKILL).
      expect(lived.filter((l) => l.args === 'sleep 1000').length).toBeGreaterThanOrEqual(3);
      expect(lived.filter((l) => l.args === 'sleep 1001').length).toBeGreaterThanOrEqual(2);
      for (const run of lived) expect(run.ms, run.args).toBeLessThanOrEqual(run.args === 'sleep 1000' ? 1_000 + 400 : 3_000 + 400);
      expect(lived.filter((l) => l.args === 'sleep 1001').some((l) => l.ms >= 2_000)).toBe(true); // TERM was really ignored
      expect(older).toEqual([]);
      expect(status.trackers).toEqual([
        { name: 'script:hang', weight: -20, status: 'failed' },
        { name: 'script:stubborn', weight: -10, status: 'failed' },
        { name: 'interface:ens32', weight: 0, status: 'ok' },
      ]);
      expect(status.effective_priority).toBe(70);
      expect(latencies.length).toBeGreaterThanOrEqual(10);
      expect(latencies.at(-1)!).toBeLessThan(100);
    } finally {
      rmSync(dirname(stubborn), { recursive: true, force: true });
    }
  }, 60_000);

  it('a wall-clock step of +1 h and -1 h (seen by the daemons only) moves no timer: adverts stay 1 s apart, the BACKUP does not take over', async () => {
    const shimDir = mkdtempSync(join(tmpdir(), 'vrrpd-clock-'));
    try {
      writeFileSync(join(shimDir, 'shim.c'), CLOCK_STEP_SHIM);
      execFileSync('cc', ['-shared', '-fPIC', '-O2', '-o', join(shimDir, 'shim.so'), join(shimDir, 'shim.c'), '-ldl']);
      // Steps at start + 8, 11, 14 and 17 s: +1 h, back (-1 h), -1 h, back (+1 h). master1 is
      // elected about 4.5 s after start (node's start-up and Master_Down).
      const monoNowNs = process.hrtime.bigint();
      const at = (seconds: number) => monoNowNs + BigInt(seconds) * 1_000_000_000n;
      const schedule: Array<[number, number]> = [[8, 3600], [11, 0], [14, -3600], [17, 0]];
      const startedAt = Date.now();
      const withShim = async (host: Master, index: 1 | 2): Promise<VrrpdProcess> => {
        const saved = process.env.LD_PRELOAD;
        process.env.LD_PRELOAD = join(shimDir, 'shim.so');
        process.env.VRRPD_TEST_CLOCK_STEPS = schedule.map(([s, offset]) => `${at(s)}:${offset}`).join(',');
        // The spawn copies the environment synchronously; restore it before anything else runs.
        const started = mixed.node(host).startVrrpd(seedNodeYaml({ index, unicast: true }), '.yaml');
        if (saved === undefined) delete process.env.LD_PRELOAD;
        else process.env.LD_PRELOAD = saved;
        delete process.env.VRRPD_TEST_CLOCK_STEPS;
        return started;
      };
      const m1 = await withShim('m1', 1);
      await m1.waitForLine((l) => l.msg === 'vrrpd started', 10_000);
      const m2 = await withShim('m2', 2);
      await mixed.vips.waitForHolders(['m1'], 6_000, 'master1 elected');
      const wire = await Wire.host(mixed.lab, 'm3', `ip proto 112 and ether src ${mixed.lab.host('m1').mac}`);
      const mark = [m1.lines.length, m2.lines.length];
      const holderMark = Date.now();

      // Read the daemon's idea of wall time in each phase: status turns the last transition's
      // monotonic instant into wall time with Date.now(), so it moves by exactly the step.
      const transitionAt = async (): Promise<number> => Date.parse(String(((await m1.status()).instances[0]!.last_transition as { at: string }).at));
      const phases: number[] = [];
      // One reading before the first step, one 1.5 s after each step.
      for (const dueSecond of [schedule[0]![0] - 1, ...schedule.map(([second]) => second + 1.5)]) {
        const due = startedAt + dueSecond * 1000;
        await sleep(Math.max(0, due - Date.now()));
        phases.push(await transitionAt());
      }
      const endAt = Date.now();
      await sleep(1_200);
      await wire.stop();
      const adverts = wire.adverts.filter((a) => a.source === '10.0.0.51' && a.destination === '10.0.0.53' && a.timeMs >= holderMark);
      const intervals = adverts.slice(1).map((a, i) => a.timeMs - adverts[i]!.timeMs);
      const worst = Math.max(...intervals.map((ms) => Math.abs(ms - ADVERT_INTERVAL_MS)));
      const shifts = phases.map((t) => Math.round((t - phases[0]!) / 1000) || 0); // || 0: no -0
      results.push(
        `clock step: the daemons' wall clock moved by ${shifts.slice(1).map((s) => `${s > 0 ? '+' : ''}${s} s`).join(', ')} (phases); master1's ${adverts.length} adverts over ${Math.round((endAt - holderMark) / 1000)} s were 1 s apart within ${worst.toFixed(1)} ms; transitions after the election: ${m1.lines.slice(mark[0]).filter((l) => l.to).length + m2.lines.slice(mark[1]).filter((l) => l.to).length}`,
      );
      // The step really happened inside the daemon (+1 h, back, -1 h, back)...
      expect(shifts).toEqual([0, 3600, 0, -3600, 0]);
      // ... and the protocol did not notice: no transition, the VIP stayed, adverts every second.
      expect(m1.lines.slice(mark[0]).filter((l) => typeof l.to === 'string')).toEqual([]);
      expect(m2.lines.slice(mark[1]).filter((l) => typeof l.to === 'string')).toEqual([]);
      expect(mixed.vips.since(holderMark)).toEqual([]);
      expect(await states([m1, m2])).toEqual(['MASTER', 'BACKUP']);
      expect(adverts.length).toBeGreaterThanOrEqual(Math.floor((endAt - holderMark) / 1000));
      expect(worst).toBeLessThan(50);
    } finally {
      rmSync(shimDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('timers never read the wall clock', () => {
  // The daemon's code: everything `vrrpd run` loads. (src/lab, the demo lab tool, timestamps its
  // timeline with wall time on purpose and runs no VRRP timer.)
  const DAEMON_DIRS = ['core', 'io', 'daemon', 'config', 'cli'];

  it('the daemon (src/core, io, daemon, config, cli) calls Date.now() / new Date() only to show wall times to people', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
    const uses = DAEMON_DIRS.flatMap((dir) => files(join(REPO, 'src', dir))).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .map((line, i) => ({ where: `${relative(REPO, file)}:${i + 1}`, code: line.replace(/\/\/.*$/, '').replace(/^\s*\*.*$/, '') }))
        .filter((l) => /\bDate\.now\(|\bnew Date\(|\bDate\(\)/.test(l.code))
        .map((l) => `${l.where.replace(/:\d+$/, '')}: ${l.code.trim()}`),
    );
    // The only ones: the host's wall clock (the one reading), status formatting the daemon's
    // start time and the monotonic -> wall conversion of its transitions for people, and the seed
    // of the UDP mirror's counter epoch (a counter, not a timer).
    expect(uses.sort()).toEqual([
      'src/daemon/daemon.ts: const engine = this.engine.status(nowMs, (atMs) => new Date(wallNowMs - (nowMs - atMs)).toISOString());',
      'src/daemon/daemon.ts: started_at: new Date(this.startedAtMs).toISOString(),',
      'src/daemon/real-host.ts: wallClockMs: () => Date.now(),',
      'src/daemon/supervisor.ts: const mirrorEpochClockMs = (): number => Date.now();',
    ]);
  });
});
