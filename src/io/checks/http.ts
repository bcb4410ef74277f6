/**
 * The built-in http(s) check: GET with a keep-alive agent (one TCP+TLS connection reused across
 * runs, so a 100 ms check does not pay a TLS handshake each time). TLS files are re-read when they
 * change (certificate rotation) and their absence is a failed check, not a daemon that will not
 * start: on a fresh node kubeadm writes /etc/kubernetes/pki after vrrpd is up.
 */
import { readFileSync, statSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import { describeError, type Probe, type ProbeOutcome, type ProbeRun } from './probe.js';

/** What an http check does; the config's `http:` block has these fields. */
export interface HttpProbeOptions {
  /** http: or https: URL, e.g. https://127.0.0.1:6443/readyz. */
  url: string;
  /** PEM CA bundle that must have signed the server's certificate (https only). */
  ca_file?: string;
  /** PEM client certificate and key, both or neither (https only). */
  cert_file?: string;
  key_file?: string;
  /** The name the server certificate must carry (and the TLS SNI), when it differs from the URL's host. */
  server_name?: string;
  /** Accept any server certificate (https only). */
  insecure: boolean;
  expected_status: number[];
}

/** Response bodies are read (keep-alive needs it) but not kept; a bigger one ends the connection. */
const MAX_HTTP_BODY_BYTES = 64 * 1024;
/** How often TLS files are stat'ed for changes (certificate rotation). */
const TLS_FILE_RECHECK_MS = 10_000;

export class HttpProbe implements Probe {
  readonly kind = 'http' as const;
  private readonly url: URL;
  private readonly https: boolean;
  private agent: HttpAgent | undefined;
  private filesStamp = '';
  private lastFileCheckMs = Number.NEGATIVE_INFINITY;
  private current: ClientRequest | undefined;
  /** Connections opened (for tests and stats: keep-alive should keep this at 1). */
  connectionsOpened = 0;

  constructor(private readonly spec: HttpProbeOptions) {
    this.url = new URL(spec.url);
    this.https = this.url.protocol === 'https:';
  }

  run(timeoutMs: number): ProbeRun {
    const agent = this.ensureAgent();
    if ('error' in agent) return { outcome: Promise.resolve({ ok: false, detail: agent.error }), settled: Promise.resolve() };
    // Not AbortSignal.timeout: its timer cannot be cancelled, so every run would wake the event
    // loop a second time at the deadline, long after the answer came.
    const controller = new AbortController();
    const signal = controller.signal;
    const deadline = setTimeout(() => controller.abort(), timeoutMs);
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => (settle = resolve)).then(() => clearTimeout(deadline));
    const outcome = new Promise<ProbeOutcome>((resolve) => {
      const attempt = (retry: boolean): void => {
        const request = (this.https ? httpsRequest : httpRequest)(this.url, {
          method: 'GET',
          agent: agent.agent,
          signal,
          headers: { 'user-agent': 'vrrpd-check', accept: '*/*' },
        });
        this.current = request;
        let answered = false;
        request.on('socket', (socket) => {
          // A fresh socket has no remote address yet; count connections, not requests.
          if (!request.reusedSocket) {
            this.connectionsOpened++;
            socket.setNoDelay(true);
          }
        });
        request.on('response', (response: IncomingMessage) => {
          answered = true;
          const status = response.statusCode ?? 0;
          const ok = this.spec.expected_status.includes(status);
          resolve({ ok, detail: `HTTP ${status}${ok ? '' : ` (expected ${this.spec.expected_status.join(' or ')})`}` });
          let bytes = 0;
          response.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            if (bytes > MAX_HTTP_BODY_BYTES) response.destroy();
          });
          response.on('error', () => undefined);
        });
        request.on('error', (error: NodeJS.ErrnoException) => {
          if (answered) return;
          // A kept-alive connection the server closed just as we reused it: one fresh retry,
          // within the same deadline, instead of a false failure.
          if (retry && request.reusedSocket && !signal.aborted && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) {
            request.removeAllListeners('close');
            attempt(false);
            return;
          }
          resolve({ ok: false, detail: signal.aborted ? `timed out after ${timeoutMs} ms` : describeError(error), timedOut: signal.aborted });
        });
        request.on('close', () => {
          if (this.current === request) this.current = undefined;
          if (!answered) resolve({ ok: false, detail: signal.aborted ? `timed out after ${timeoutMs} ms` : 'connection closed', timedOut: signal.aborted });
          settle();
        });
        request.end();
      };
      attempt(true);
    });
    return { outcome, settled };
  }

  async close(): Promise<void> {
    this.current?.destroy();
    this.agent?.destroy();
    this.agent = undefined;
  }

  /** The agent for the current TLS files, rebuilt when they changed; or why there is none. */
  private ensureAgent(): { agent: HttpAgent } | { error: string } {
    const nowMs = performance.now();
    if (this.agent && nowMs - this.lastFileCheckMs < TLS_FILE_RECHECK_MS) return { agent: this.agent };
    this.lastFileCheckMs = nowMs;
    const files = (['ca_file', 'cert_file', 'key_file'] as const).filter((key) => this.spec[key] !== undefined);
    let stamp = '';
    for (const key of files) {
      try {
        const info = statSync(this.spec[key]!);
        stamp += `${info.ino}:${info.size}:${info.mtimeMs};`;
      } catch (error) {
        this.lastFileCheckMs = Number.NEGATIVE_INFINITY; // look again next run
        return { error: `cannot read ${key} ${this.spec[key]}: ${describeError(error)}` };
      }
    }
    if (this.agent && stamp === this.filesStamp) return { agent: this.agent };
    const common = { keepAlive: true, keepAliveMsecs: 1000, maxSockets: 1, maxFreeSockets: 1, scheduling: 'lifo' as const };
    let agent: HttpAgent;
    if (this.https) {
      const tls: Record<string, unknown> = { rejectUnauthorized: !this.spec.insecure };
      try {
        if (this.spec.ca_file !== undefined) tls['ca'] = readFileSync(this.spec.ca_file);
        if (this.spec.cert_file !== undefined) tls['cert'] = readFileSync(this.spec.cert_file);
        if (this.spec.key_file !== undefined) tls['key'] = readFileSync(this.spec.key_file);
      } catch (error) {
        this.lastFileCheckMs = Number.NEGATIVE_INFINITY;
        return { error: `cannot read TLS files: ${describeError(error)}` };
      }
      if (this.spec.server_name !== undefined) tls['servername'] = this.spec.server_name;
      agent = new HttpsAgent({ ...common, ...tls });
    } else {
      agent = new HttpAgent(common);
    }
    this.agent?.destroy();
    this.agent = agent;
    this.filesStamp = stamp;
    return { agent };
  }
}

