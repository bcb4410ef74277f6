/** The built-in tcp check: a connect to host:port that completes within the timeout. */
import { connect as netConnect, type Socket } from 'node:net';
import { describeError, type Probe, type ProbeOutcome, type ProbeRun } from './probe.js';

/** What a tcp check does; the config's `tcp:` block has these fields. */
export interface TcpProbeOptions {
  /** An IP address literal (no name lookups at 100 ms intervals). */
  host: string;
  port: number;
}

export class TcpProbe implements Probe {
  readonly kind = 'tcp' as const;
  private current: Socket | undefined;

  constructor(private readonly spec: TcpProbeOptions) {}

  run(timeoutMs: number): ProbeRun {
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const outcome = new Promise<ProbeOutcome>((resolve) => {
      const socket = netConnect({ host: this.spec.host, port: this.spec.port });
      this.current = socket;
      const timer = setTimeout(() => {
        resolve({ ok: false, detail: `timed out after ${timeoutMs} ms`, timedOut: true });
        socket.destroy();
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve({ ok: true, detail: `connected to ${this.spec.host}:${this.spec.port}` });
        socket.destroy();
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        resolve({ ok: false, detail: describeError(error) });
      });
      socket.once('close', () => {
        clearTimeout(timer);
        if (this.current === socket) this.current = undefined;
        resolve({ ok: false, detail: 'connection closed' });
        settle();
      });
    });
    return { outcome, settled };
  }

  async close(): Promise<void> {
    this.current?.destroy();
  }
}
