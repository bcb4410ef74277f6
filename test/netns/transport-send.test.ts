/**
 * An advert leaves when transport.send() is called, not on a later turn of the event loop: a new
 * MASTER's first advert must not wait behind the rest of that turn's work (the fork of `ip addr
 * add`, GC, other instances). The helper sends to two unicast peers and then keeps its loop busy
 * for 100 ms; both packets must be on the wire (tcpdump on the sender's ens32) well before the
 * loop is released. With raw-socket's queued send they left only after it, one per loop turn.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, labUnavailableReason, seedMasters } from './lab.js';

const HELPER = join(import.meta.dirname, 'transport-send-helper.ts');
const REGISTER = join(import.meta.dirname, '..', 'register.mjs');
const BUSY_MS = 100;

describe.skipIf(labUnavailableReason !== undefined)('transport send timing on a real kernel', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await Lab.create({
      hosts: seedMasters(3),
    });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it('puts the advert for every unicast peer on the wire before the event loop turn ends', async () => {
    const capture = await lab.tcpdump('m1', 'ip proto 112 and src host 10.0.0.51');
    const result = await lab.exec('m1', process.execPath, ['--import', REGISTER, HELPER, String(BUSY_MS)], 20_000);
    expect(result.code, result.stderr).toBe(0);
    const { before, released, errors } = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { before: number; released: number; errors: string[] };
    expect(errors).toEqual([]);
    expect(released - before).toBeGreaterThanOrEqual(BUSY_MS);
    const frames = (await capture.stop()).filter((f) => f.timeMs >= before - 1);
    const destinations = frames.map((f) => [...f.bytes.subarray(30, 34)].join('.'));
    expect(destinations).toEqual(['10.0.0.52', '10.0.0.53']);
    for (const frame of frames) {
      // Out within a few ms of the call, long before the busy loop let go.
      expect(frame.timeMs - before).toBeLessThan(20);
      expect(frame.timeMs).toBeLessThan(released - 50);
    }
  });
});
