/**
 * What saving the UDP mirror's receive floors costs the daemon's event loop (docs/protocol.md#udp-mirror):
 * writeMirrorFloors as the shell runs it after every accepted datagram (a temporary file written
 * and renamed over mirror-floors, no fsync), next to the same file written durably (fsync of the
 * file and the directory, as drain.json), wall time per write in µs. Interleaved in blocks so that
 * load on the shared machine hits both alike. --dir picks the file system (default: a fresh
 * directory under /var/tmp, the disk /var/lib/vrrpd is usually on; /tmp may be tmpfs).
 *
 *   node --import ./test/register.mjs test/bench/mirror-floors.ts [--runs 2000] [--peers 2] [--dir DIR]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatIpv4, parseIpv4, type Ipv4 } from '../../src/core/ip.js';
import { MIRROR_FLOORS_FILE, writeMirrorFloors, writeStateFile } from '../../src/daemon/state.js';
import { cell, markdownTable, median, percentile } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '2000' },
    peers: { type: 'string', default: '2' },
    dir: { type: 'string' },
  },
});
const runs = Number(values.runs);
const base = values.dir ?? '/var/tmp';
const dir = mkdtempSync(join(base, 'vrrpd-floors-bench-'));

// Counters as a 2026 epoch gives them: the file is the size the daemon writes.
const floors = new Map<Ipv4, bigint>();
for (let i = 0; i < Number(values.peers); i++) floors.set(parseIpv4(`10.0.0.${51 + i}`) as Ipv4, (1_764_000_000n << 32n) + BigInt(i));

function floorsText(): string {
  let text = '';
  for (const [peer, counter] of floors) text += `${formatIpv4(peer)} ${counter}\n`;
  return text;
}

const ways: Record<string, () => void> = {
  'write + rename (what the daemon does)': () => writeMirrorFloors(dir, floors),
  'write + fsync + rename + fsync dir (durable)': () => writeStateFile(dir, `${MIRROR_FLOORS_FILE}-durable`, floorsText()),
};
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(ways).map((k) => [k, []]));
const BLOCK = 50;
try {
  for (let done = 0; done < runs; done += BLOCK) {
    for (const [name, write] of Object.entries(ways)) {
      for (let i = 0; i < BLOCK; i++) {
        for (const [peer, counter] of floors) floors.set(peer, counter + 1n);
        const start = process.hrtime.bigint();
        write();
        samples[name]!.push(Number(process.hrtime.bigint() - start) / 1000);
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`mirror-floors save, ${runs} writes each, ${floors.size} peers, in ${base}:`);
console.log(
  markdownTable(
    ['way', 'median µs', 'p90 µs', 'p99 µs'],
    Object.entries(samples).map(([name, xs]) => [name, cell(median(xs)), cell(percentile(xs, 90)), cell(percentile(xs, 99))]),
  ),
);
