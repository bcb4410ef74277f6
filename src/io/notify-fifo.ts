/**
 * keepalived's notify FIFO (`notify_fifo`, `vrrp_notify_fifo`): every transition as one line,
 * `INSTANCE "VI_1" MASTER 100` (a sync group's: `GROUP "G1" MASTER 0`), written in order to a named
 * pipe a reader script follows (docs/protocol.md#notify-fifo).
 *
 * Nothing here may block the protocol, whether or not anybody reads:
 * - the FIFO is opened O_RDWR | O_NONBLOCK, as keepalived opens it: holding the read end ourselves,
 *   the open never waits for a reader and a write never fails with EPIPE when the reader goes;
 * - a line is written at once when the pipe has room (a line is far below PIPE_BUF, so it goes in
 *   whole or not at all, and lines never interleave); when the pipe is full (no reader for a while:
 *   64 KiB is about 2000 lines) lines wait in a bounded queue, in order, and are retried;
 * - when the queue is full the oldest waiting line is dropped and counted: a reader that comes
 *   back then still learns the latest state.
 *
 * A FIFO that does not exist is created (mode 0644, as keepalived), and removed again at close;
 * one that exists is used as it is. A path that exists and is not a FIFO is refused rather than
 * written to (keepalived would append to a regular file there).
 */
import { execFileSync } from 'node:child_process';
import { chownSync, closeSync, constants, fstatSync, lstatSync, openSync, unlinkSync, writeSync } from 'node:fs';

export type FifoState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP' | 'DELETED';

/** keepalived's line (vrrp_notify.c): the name in double quotes, the priority 0 for a group. */
export function fifoLine(kind: 'INSTANCE' | 'GROUP', name: string, state: FifoState, priority: number): string {
  return `${kind} "${name}" ${state} ${kind === 'GROUP' ? 0 : priority}\n`;
}

/** Lines that wait for room in the pipe; older ones are dropped beyond this. */
export const DEFAULT_MAX_QUEUED_LINES = 1024;
/** How soon a full pipe is tried again. */
export const DEFAULT_RETRY_MS = 100;

export interface NotifyFifoOptions {
  path: string;
  /** Owner of a FIFO this writer creates (keepalived's `notify_fifo PATH USER GROUP`). */
  owner?: { uid: number; gid: number };
  maxQueuedLines?: number;
  retryMs?: number;
  /** A write that failed for another reason than a full pipe (reported once per kind of failure). */
  onError?: (error: NodeJS.ErrnoException) => void;
}

export interface NotifyFifoStats {
  path: string;
  written: number;
  queued: number;
  dropped: number;
}

/** Why a FIFO could not be opened, in one line a person can act on. */
export class NotifyFifoError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export class NotifyFifoWriter {
  private readonly queue: string[] = [];
  private head = 0;
  private written = 0;
  private dropped = 0;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly reported = new Set<string>();

  private constructor(
    readonly path: string,
    private readonly fd: number,
    /** This writer made the FIFO, so it removes it at close. */
    readonly created: boolean,
    private readonly options: NotifyFifoOptions,
  ) {}

  /** Create the FIFO if it is missing and open it without blocking. Throws NotifyFifoError. */
  static open(options: NotifyFifoOptions): NotifyFifoWriter {
    const { path } = options;
    if (!path.startsWith('/')) throw new NotifyFifoError(`notify FIFO ${path}: must be an absolute path`, 'EINVAL');
    let created = false;
    try {
      const stat = lstatSync(path);
      if (!stat.isFIFO()) throw new NotifyFifoError(`notify FIFO ${path} exists and is not a FIFO (${stat.isSymbolicLink() ? 'a symbolic link' : 'another kind of file'}); remove it or name another path`, 'EEXIST');
    } catch (error) {
      if (error instanceof NotifyFifoError) throw error;
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new NotifyFifoError(`notify FIFO ${path}: ${(error as Error).message}`, (error as NodeJS.ErrnoException).code ?? 'EIO');
      makeFifo(path);
      created = true;
    }
    let fd: number;
    try {
      if (created && options.owner) chownSync(path, options.owner.uid, options.owner.gid);
      fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOFOLLOW);
      if (!fstatSync(fd).isFIFO()) {
        closeSync(fd);
        throw new NotifyFifoError(`notify FIFO ${path} is not a FIFO`, 'EEXIST');
      }
    } catch (error) {
      if (created) unlinkQuietly(path);
      if (error instanceof NotifyFifoError) throw error;
      throw new NotifyFifoError(`cannot open notify FIFO ${path}: ${(error as Error).message}`, (error as NodeJS.ErrnoException).code ?? 'EIO');
    }
    return new NotifyFifoWriter(path, fd, created, options);
  }

  /** Write one line (with its newline) after every line before it; returns at once. */
  write(line: string): void {
    if (this.closed) return;
    const max = this.options.maxQueuedLines ?? DEFAULT_MAX_QUEUED_LINES;
    if (this.queue.length - this.head >= max) {
      this.head++;
      this.dropped++;
    }
    this.queue.push(line);
    this.flush();
  }

  stats(): NotifyFifoStats {
    return { path: this.path, written: this.written, queued: this.queue.length - this.head, dropped: this.dropped };
  }

  /** Stop writing; lines still waiting are dropped (counted). A FIFO this writer made is removed first. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    this.dropped += this.queue.length - this.head;
    this.queue.length = 0;
    this.head = 0;
    // Unlinked before closing, as keepalived: a reader that reopens the path in a loop cannot open the old one.
    if (this.created) unlinkQuietly(this.path);
    closeSync(this.fd);
  }

  private flush(): void {
    if (this.retry) return; // the pipe was full: the retry writes in order
    while (this.head < this.queue.length) {
      const line = this.queue[this.head]!;
      try {
        writeSync(this.fd, line);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
        if (code !== 'EAGAIN') {
          // Not a full pipe: this line cannot be written; say so once per kind and go on.
          this.head++;
          this.dropped++;
          if (!this.reported.has(code)) {
            this.reported.add(code);
            this.options.onError?.(error as NodeJS.ErrnoException);
          }
          continue;
        }
        this.retry = setTimeout(() => {
          this.retry = undefined;
          this.flush();
        }, this.options.retryMs ?? DEFAULT_RETRY_MS);
        this.retry.unref();
        break;
      }
      this.head++;
      this.written++;
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }
}

/** mkfifo(3) is not in Node's fs: coreutils' mkfifo, with keepalived's mode (not reduced by the umask). */
function makeFifo(path: string): void {
  try {
    execFileSync('mkfifo', ['-m', '0644', '--', path], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 5000 });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new NotifyFifoError(`cannot create notify FIFO ${path}: ${stderr || (error as Error).message}`, 'EMKFIFO');
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone: nothing to clean.
  }
}
