/**
 * The UDP mirror's datagram (src/io/mirror.ts): a table of cases for the codec, the decoder fuzzed
 * like the advert decoder (any bytes and mutations of real datagrams decode or give a reason; only
 * the untouched datagram verifies), the key file's checks, the sender counter and its epoch.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeAdvert, passwordToAuthData } from '../../src/core/codec.js';
import { parseIpv4, type Ipv4 } from '../../src/core/ip.js';
import { MIRROR_EPOCH_FILE, nextMirrorEpoch } from '../../src/daemon/state.js';
import {
  decodeMirrorDatagram,
  encodeMirrorDatagram,
  MIRROR_MAX_DATAGRAM,
  MIRROR_MIN_DATAGRAM,
  MirrorCounter,
  readMirrorKey,
  type MirrorDecodeReason,
} from '../../src/io/mirror.js';

const KEY = new Uint8Array(32).map((_, i) => i * 7 + 1);
const OTHER_KEY = new Uint8Array(32).map((_, i) => i * 7 + 2);
const A = parseIpv4('10.0.0.51') as Ipv4;
const B = parseIpv4('10.0.0.52') as Ipv4;
const C = parseIpv4('10.0.0.53') as Ipv4;
const ADVERT = encodeAdvert({ version: 2, type: 1, virtualRouterId: 251, priority: 100, authType: 1, advertIntervalSec: 1, addresses: [parseIpv4('10.0.0.50') as Ipv4], authData: passwordToAuthData('123456').authData });
const COUNTER = (1_764_000_000n << 32n) | 5n;

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

describe('mirror datagram codec', () => {
  const good = encodeMirrorDatagram(KEY, COUNTER, ADVERT, A, B);

  it('lays out magic, version, counter, the advert and a 32-byte tag, and opens to the same counter and advert', () => {
    expect(good.length).toBe(12 + ADVERT.length + 32);
    expect(hex(good.subarray(0, 12))).toBe(`56524d01${COUNTER.toString(16).padStart(16, '0')}`);
    expect(hex(good.subarray(12, 12 + ADVERT.length))).toBe(hex(ADVERT));
    const opened = decodeMirrorDatagram(KEY, good, A, B);
    expect(opened).toEqual({ ok: true, counter: COUNTER, advert: ADVERT });
  });

  const flip = (at: number): Uint8Array => {
    const copy = Uint8Array.from(good);
    copy[at] = (copy[at] as number) ^ 0x01;
    return copy;
  };
  const cases: Array<[name: string, datagram: Uint8Array, reason: MirrorDecodeReason, key?: Uint8Array, from?: Ipv4, to?: Ipv4]> = [
    ['empty', new Uint8Array(0), 'too_short'],
    ['one byte under the minimum', new Uint8Array(MIRROR_MIN_DATAGRAM - 1), 'too_short'],
    ['one byte over the maximum', new Uint8Array(MIRROR_MAX_DATAGRAM + 1), 'too_long'],
    ['a jumbo datagram', new Uint8Array(65_507), 'too_long'],
    ['another magic', flip(0), 'bad_magic'],
    ['another format version', flip(3), 'bad_version'],
    ['a counter changed', flip(11), 'bad_tag'],
    ['an advert byte changed', flip(12 + 3), 'bad_tag'],
    ['a tag byte changed', flip(good.length - 1), 'bad_tag'],
    ['cut short by one byte', good.subarray(0, good.length - 1), 'bad_tag'],
    ['another key', good, 'bad_tag', OTHER_KEY],
    ['from another sender', good, 'bad_tag', KEY, C, B],
    ['sealed for another receiver', good, 'bad_tag', KEY, A, C],
  ];
  it.each(cases)('refuses %s', (_name, datagram, reason, key = KEY, from = A, to = B) => {
    expect(decodeMirrorDatagram(key, datagram, from, to)).toEqual({ ok: false, reason });
  });

  it('refuses to seal what it would not open', () => {
    expect(() => encodeMirrorDatagram(KEY, COUNTER, new Uint8Array(7), A, B)).toThrow(RangeError);
    expect(() => encodeMirrorDatagram(KEY, COUNTER, new Uint8Array(97), A, B)).toThrow(RangeError);
    expect(() => encodeMirrorDatagram(KEY, -1n, ADVERT, A, B)).toThrow(RangeError);
    expect(() => encodeMirrorDatagram(KEY, 1n << 64n, ADVERT, A, B)).toThrow(RangeError);
  });

  it('fuzz: any bytes decode or give a reason, never throw, and never verify', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const result = decodeMirrorDatagram(KEY, bytes, A, B);
        expect(result.ok).toBe(false);
      }),
      { numRuns: 3_000 },
    );
  });

  it('fuzz: mutations of a real datagram (bit flips, truncation, extension) are refused; only the untouched one verifies', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat({ max: good.length - 1 }), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat({ max: good.length - 1 }) }),
      fc.record({ kind: fc.constant('extend' as const), tail: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
    );
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
        let bytes = Uint8Array.from(good);
        for (const m of mutations) {
          if (m.kind === 'flip') bytes[m.at % bytes.length] = (bytes[m.at % bytes.length] as number) ^ (1 << m.bit);
          else if (m.kind === 'cut') bytes = bytes.subarray(0, m.at);
          else bytes = Uint8Array.from([...bytes, ...m.tail]);
        }
        const result = decodeMirrorDatagram(KEY, bytes, A, B);
        if (hex(bytes) === hex(good)) expect(result.ok).toBe(true);
        else expect(result).toMatchObject({ ok: false });
      }),
      { numRuns: 3_000 },
    );
  });

  it('fuzz: every advert length 8..96 and counter round-trips', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 96 }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (advert, counter) => {
        const sealed = encodeMirrorDatagram(KEY, counter, advert, A, B);
        expect(decodeMirrorDatagram(KEY, sealed, A, B)).toEqual({ ok: true, counter, advert });
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('mirror key file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vrrpd-mirror-key-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, bytes: Uint8Array | string, mode = 0o600): string => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    chmodSync(path, mode);
    return path;
  };

  it('takes a 0600 file of 32 bytes or more, all of its bytes', () => {
    const path = file('good.key', KEY);
    expect(readMirrorKey(path)).toEqual({ ok: true, key: KEY });
    const text = file('text.key', 'a'.repeat(64) + '\n', 0o400);
    expect(readMirrorKey(text)).toMatchObject({ ok: true });
    expect((readMirrorKey(text) as { key: Uint8Array }).key.length).toBe(65);
  });

  it.each([
    [0o644, /readable by its group or others \(mode 0644\).*chmod 600/],
    [0o640, /readable by its group or others \(mode 0640\)/],
    [0o604, /readable by its group or others \(mode 0604\)/],
    [0o620, /writable by its group or others \(mode 0620\)/],
    [0o666, /readable and writable by its group or others/],
  ])('refuses mode %o', (mode, message) => {
    const result = readMirrorKey(file(`mode-${mode.toString(8)}.key`, KEY, mode));
    expect(result).toMatchObject({ ok: false });
    expect((result as { message: string }).message).toMatch(message);
  });

  it('refuses a missing, short, oversize, symlinked or non-regular key file, naming the file and what to do', () => {
    const missing = readMirrorKey(join(dir, 'absent.key'));
    expect(missing).toMatchObject({ ok: false, message: expect.stringMatching(/absent\.key does not exist: create it with 'head -c 32 \/dev\/urandom/) });
    expect(readMirrorKey(file('short.key', KEY.subarray(0, 31)))).toMatchObject({ ok: false, message: expect.stringMatching(/holds 31 bytes; it needs at least 32/) });
    expect(readMirrorKey(file('huge.key', new Uint8Array(5000)))).toMatchObject({ ok: false, message: expect.stringMatching(/holds 5000 bytes; a key is at most 4096/) });
    const link = join(dir, 'link.key');
    symlinkSync(file('target.key', KEY), link);
    expect(readMirrorKey(link)).toMatchObject({ ok: false, message: expect.stringMatching(/is a symlink; refusing it/) });
    const sub = join(dir, 'a-directory');
    mkdirSync(sub, { mode: 0o700 });
    expect(readMirrorKey(sub)).toMatchObject({ ok: false, message: expect.stringMatching(/is not a regular file/) });
  });
});

describe('mirror counter and epoch', () => {
  it('counts epoch << 32 | sequence, strictly up, and takes a fresh epoch when the sequence wraps', () => {
    let epochs = 0;
    const counter = new MirrorCounter(1000, () => 2000 + epochs++);
    const first = counter.next();
    const second = counter.next();
    expect(first).toBe(1000n << 32n);
    expect(second).toBe(first + 1n);
    (counter as unknown as { sequence: number }).sequence = 0xffff_ffff;
    const last = counter.next();
    const wrapped = counter.next();
    expect(last).toBe((1000n << 32n) | 0xffff_ffffn);
    expect(wrapped).toBe(2000n << 32n);
    expect(wrapped > last).toBe(true);
  });

  it('a restart never reuses an epoch: max(last + 1, the clock in seconds), on disk before use, even when the clock goes back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vrrpd-mirror-epoch-'));
    try {
      const now = 1_764_000_000_000;
      expect(nextMirrorEpoch(dir, now)).toBe(1_764_000_000);
      expect(readFileSync(join(dir, MIRROR_EPOCH_FILE), 'utf8')).toBe('1764000000\n');
      // Two restarts within the same second, then a clock set back by a day.
      expect(nextMirrorEpoch(dir, now + 10)).toBe(1_764_000_001);
      expect(nextMirrorEpoch(dir, now + 20)).toBe(1_764_000_002);
      expect(nextMirrorEpoch(dir, now - 86_400_000)).toBe(1_764_000_003);
      // Later the clock leads again.
      expect(nextMirrorEpoch(dir, now + 3_600_000)).toBe(1_764_003_600);
      // A corrupt file: the clock decides.
      writeFileSync(join(dir, MIRROR_EPOCH_FILE), 'garbage');
      expect(nextMirrorEpoch(dir, now + 7_200_000)).toBe(1_764_007_200);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('mirror sockets on loopback', () => {
  it('seal, send from the socket bound to the source, open at the receiver; a bind that fails is reported and sends say there is no socket', async () => {
    const { MirrorSockets } = await import('../../src/io/mirror.js');
    const port = 40_000 + Math.floor(Math.random() * 20_000);
    const errors: string[] = [];
    const one = parseIpv4('127.0.0.1') as Ipv4;
    const two = parseIpv4('127.0.0.2') as Ipv4;
    const sender = new MirrorSockets(KEY, new MirrorCounter(77, () => 78), (e) => errors.push(`${e.operation} ${e.code}`));
    const receiver = new MirrorSockets(KEY, new MirrorCounter(1, () => 2), (e) => errors.push(`${e.operation} ${e.code}`));
    try {
      const got = new Promise<{ source: Ipv4; result: unknown }>((resolve) => {
        receiver.listen(port, [{ ifname: 'lo', address: two }], (endpoint, datagram, source) => resolve({ source, result: receiver.open(datagram, source, endpoint.address) }));
      });
      sender.listen(port, [{ ifname: 'lo', address: one }], () => undefined);
      sender.send(ADVERT, one, [two]);
      const { source, result } = await got;
      expect(source).toBe(one);
      expect(result).toEqual({ ok: true, counter: 77n << 32n, advert: ADVERT });
      expect(() => sender.send(ADVERT, two, [one])).toThrow(/no mirror socket on 127\.0\.0\.2/);
      // An address this host does not have: the bind fails, is reported, and there is no socket to send from.
      const absent = parseIpv4('192.0.2.1') as Ipv4;
      sender.listen(port, [{ ifname: 'lo', address: one }, { ifname: 'lo', address: absent }], () => undefined);
      for (let i = 0; i < 50 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(errors).toEqual(['mirror.bind EADDRNOTAVAIL']);
      expect(() => sender.send(ADVERT, absent, [two])).toThrow(/no mirror socket/);
    } finally {
      sender.close();
      receiver.close();
    }
  });
});
