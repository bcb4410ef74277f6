/** Reading the notify FIFOs in tests (unit, real-kernel and interop alike). */
import { readSync } from 'node:fs';

/** Everything a non-blocking reader can take from a FIFO now: up to EOF, or until it would block. */
export function readAvailable(fd: number): string {
  const buffer = Buffer.alloc(65536);
  let text = '';
  for (;;) {
    try {
      const n = readSync(fd, buffer);
      if (n === 0) return text;
      text += buffer.subarray(0, n).toString();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return text;
      throw error;
    }
  }
}
