/**
 * Errors from the host adapters. Every asynchronous failure (a send on a downed link, a vanished
 * interface, a missing capability) is handed to a callback as an IoError with a stable errno-style
 * code, so the daemon can decide (FAULT, retry, log) instead of crashing the event loop.
 */
import { getSystemErrorMap } from 'node:util';

export class IoError extends Error {
  override readonly name = 'IoError';
  constructor(
    /** errno name when the kernel gave one (ENETDOWN, ENODEV, EPERM, ...), else an io-level code. */
    readonly code: string,
    /** What we were doing: 'transport.send', 'transport.open', 'vip.add', 'garp.send', ... */
    readonly operation: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${operation}: ${message}`, options);
  }
}

let messageToCode: Map<string, string> | undefined;

/**
 * raw-socket throws plain Errors whose message is strerror(errno) and nothing else; map the text
 * back to the errno name so callers can branch on ENETDOWN without string matching.
 */
export function errnoCodeFromMessage(message: string): string | undefined {
  if (messageToCode === undefined) {
    messageToCode = new Map();
    for (const [name, text] of getSystemErrorMap().values()) {
      // uv's table says "network is down"; glibc's strerror says "Network is down".
      messageToCode.set(text.toLowerCase(), name);
    }
    // Spellings where glibc and libuv disagree.
    messageToCode.set('no such device', 'ENODEV');
    messageToCode.set('operation not permitted', 'EPERM');
    messageToCode.set('cannot assign requested address', 'EADDRNOTAVAIL');
  }
  return messageToCode.get(message.trim().toLowerCase());
}

/** Wrap anything thrown by a host call into an IoError, keeping an errno code when there is one. */
export function toIoError(operation: string, error: unknown): IoError {
  if (error instanceof IoError) return error;
  if (error instanceof Error) {
    const withCode = error as Error & { code?: unknown };
    const code =
      typeof withCode.code === 'string' && withCode.code !== ''
        ? withCode.code
        : (errnoCodeFromMessage(error.message) ?? 'EIO');
    return new IoError(code, operation, error.message, { cause: error });
  }
  return new IoError('EIO', operation, String(error));
}
