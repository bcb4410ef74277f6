/**
 * The notify FIFO writer on a real FIFO: keepalived's line, creation and removal, lines in order to
 * a reader, and no blocking (and a bounded memory) when nobody reads.
 */
import { closeSync, constants, existsSync, lstatSync, mkdtempSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { fifoLine, NotifyFifoError, NotifyFifoWriter } from '../../src/io/notify-fifo.js';

function dir(): string {
  return mkdtempSync(join(tmpdir(), 'vrrpd-fifo-'));
}

/** Everything the pipe holds now (a reader of our own, non-blocking). */
function readAll(fd: number): string {
  const chunks: Buffer[] = [];
  const buffer = Buffer.alloc(65536);
  for (;;) {
    try {
      const n = readSync(fd, buffer);
      if (n === 0) break;
      chunks.push(Buffer.from(buffer.subarray(0, n)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') break;
      throw error;
    }
  }
  return Buffer.concat(chunks).toString();
}

describe('notify FIFO line', () => {
  it("is keepalived's: type, quoted name, state, priority (0 for a group)", () => {
    expect(fifoLine('INSTANCE', 'VI_1', 'MASTER', 100)).toBe('INSTANCE "VI_1" MASTER 100\n');
    expect(fifoLine('INSTANCE', 'VI_1', 'FAULT', 80)).toBe('INSTANCE "VI_1" FAULT 80\n');
    expect(fifoLine('GROUP', 'G1', 'BACKUP', 100)).toBe('GROUP "G1" BACKUP 0\n');
  });
});

describe('notify FIFO writer', () => {
  it('creates a missing FIFO with mode 0644, writes lines in order to a reader, and removes the FIFO it made at close', () => {
    const path = join(dir(), 'notify.fifo');
    const writer = NotifyFifoWriter.open({ path });
    const stat = lstatSync(path);
    expect(stat.isFIFO()).toBe(true);
    expect(stat.mode & 0o777).toBe(0o644);
    const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    writer.write(fifoLine('INSTANCE', 'VI_1', 'BACKUP', 100));
    writer.write(fifoLine('INSTANCE', 'VI_1', 'MASTER', 100));
    writer.write(fifoLine('INSTANCE', 'VI_2', 'FAULT', 90));
    expect(readAll(reader)).toBe('INSTANCE "VI_1" BACKUP 100\nINSTANCE "VI_1" MASTER 100\nINSTANCE "VI_2" FAULT 90\n');
    expect(writer.stats()).toEqual({ path, written: 3, queued: 0, dropped: 0 });
    writer.close();
    closeSync(reader);
    expect(existsSync(path)).toBe(false);
  });

  it('uses an existing FIFO as it is and leaves it at close', () => {
    const path = join(dir(), 'existing.fifo');
    execFileSync('mkfifo', ['-m', '0600', path]);
    const writer = NotifyFifoWriter.open({ path });
    expect(writer.created).toBe(false);
    writer.close();
    expect(lstatSync(path).isFIFO()).toBe(true);
    expect(lstatSync(path).mode & 0o777).toBe(0o600);
  });

  it('refuses a path that is a regular file or a symbolic link, and leaves it alone', () => {
    const path = join(dir(), 'file');
    writeFileSync(path, 'keep\n');
    expect(() => NotifyFifoWriter.open({ path })).toThrow(NotifyFifoError);
    expect(() => NotifyFifoWriter.open({ path })).toThrow(/exists and is not a FIFO/);
    expect(readFileSync(path, 'utf8')).toBe('keep\n');
  });

  it('never blocks when nobody reads: the pipe fills, then a bounded queue, then the oldest waiting lines are dropped and counted; a reader that comes gets them in order, the latest last', async () => {
    const path = join(dir(), 'full.fifo');
    const writer = NotifyFifoWriter.open({ path, maxQueuedLines: 100, retryMs: 10 });
    const total = 5000;
    const started = process.hrtime.bigint();
    for (let i = 0; i < total; i++) writer.write(fifoLine('INSTANCE', `VI_${i}`, i % 2 === 0 ? 'MASTER' : 'BACKUP', 100));
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    expect(elapsedMs).toBeLessThan(1000); // 5000 writes that would each block on a blocking pipe
    const stats = writer.stats();
    expect(stats.queued).toBe(100);
    expect(stats.written + stats.queued + stats.dropped).toBe(total);
    expect(stats.written).toBeGreaterThan(1000); // the pipe's 64 KiB took lines first
    expect(stats.dropped).toBeGreaterThan(0);

    const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    let text = readAll(reader);
    // The queue goes out on the retries once there is room.
    for (let tries = 0; tries < 100 && writer.stats().queued > 0; tries++) {
      await new Promise((r) => setTimeout(r, 20));
      text += readAll(reader);
    }
    text += readAll(reader);
    const numbers = text.trimEnd().split('\n').map((line) => Number(/^INSTANCE "VI_(\d+)" (MASTER|BACKUP) 100$/.exec(line)?.[1]));
    expect(numbers.every((n) => Number.isInteger(n))).toBe(true);
    expect(numbers.length).toBe(stats.written + 100);
    for (let i = 1; i < numbers.length; i++) expect(numbers[i]!).toBeGreaterThan(numbers[i - 1]!);
    expect(numbers.at(-1)).toBe(total - 1);
    expect(writer.stats()).toMatchObject({ queued: 0, written: stats.written + 100, dropped: stats.dropped });
    writer.close();
    closeSync(reader);
  });
});
