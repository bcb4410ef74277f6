/**
 * Running the real `vrrpd run` process (dist/cli/main.js) inside a lab namespace, and reading what
 * it says: pino JSON lines on stdout, and `vrrpd status --json` over its control socket.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Lab } from './lab.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const VRRPD_BIN = join(REPO_ROOT, 'dist', 'cli', 'main.js');

export interface LogLine {
  level: number;
  /** Wall-clock ms of the line (pino's ISO time). */
  timeMs: number;
  msg: string;
  [key: string]: unknown;
}

export interface SeedNodeOptions {
  /** 1..3: 10.0.0.5N, priority 101 - N. */
  index: number;
  unicast: boolean;
  nopreempt?: boolean;
  priority?: number;
  authPass?: string;
  advertInt?: number;
  extraInstanceYaml?: string;
  extraTopYaml?: string;
}

/** The seed's master N as vrrpd YAML, without the script check (tracking has its own tests). */
export function seedNodeYaml(options: SeedNodeOptions): string {
  const n = options.index;
  const peers = [1, 2, 3].filter((i) => i !== n).map((i) => `      - 10.0.0.5${i}`);
  const unicast = options.unicast ? `    unicast_src_ip: 10.0.0.5${n}\n    unicast_peer:\n${peers.join('\n')}\n` : '';
  return `${options.extraTopYaml ?? ''}vrrp_instance:
  VI_1:
    state: ${options.nopreempt ? 'BACKUP' : n === 1 ? 'MASTER' : 'BACKUP'}
    interface: ens32
    virtual_router_id: 251
    priority: ${options.priority ?? 101 - n}
    advert_int: ${options.advertInt ?? 1}
${options.nopreempt ? '    nopreempt: true\n' : ''}    authentication:
      auth_type: PASS
      auth_pass: "${options.authPass ?? '123456'}"
${unicast}    virtual_ipaddress:
      - 10.0.0.50
${options.extraInstanceYaml ?? ''}`;
}

export class VrrpdProcess {
  readonly lines: LogLine[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private stderr = '';

  constructor(
    private readonly lab: Lab,
    readonly host: string,
    readonly socketPath: string,
    readonly configPath: string,
    readonly child: ChildProcess,
  ) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        this.lines.push({ ...parsed, timeMs: Date.parse(String(parsed.time)) } as LogLine);
      } catch {
        this.lines.push({ level: 0, timeMs: Date.now(), msg: line });
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  }

  get errors(): string {
    return this.stderr;
  }

  transitions(): LogLine[] {
    return this.lines.filter((l) => typeof l.from === 'string' && typeof l.to === 'string');
  }

  /** Wait for a log line matching `match`, from `afterIndex` on. */
  async waitForLine(match: (line: LogLine) => boolean, timeoutMs: number, afterIndex = 0): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.slice(afterIndex).find(match);
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Error(`${this.host}: no matching log line within ${timeoutMs} ms; log:\n${this.lines.map((l) => JSON.stringify(l)).join('\n')}\nstderr: ${this.stderr}`);
      }
      await sleep(20);
    }
  }

  waitForState(state: string, timeoutMs: number, afterIndex = 0): Promise<LogLine> {
    return this.waitForLine((l) => l.to === state, timeoutMs, afterIndex);
  }

  async status(): Promise<{ instances: Array<Record<string, unknown>>; daemon: { event_loop_lag_ms: number; [key: string]: unknown } }> {
    const result = await this.lab.exec(this.host, process.execPath, [VRRPD_BIN, 'status', '--json', '--socket', this.socketPath]);
    if (result.code !== 0) throw new Error(`status failed (${result.code}): ${result.stderr}`);
    return JSON.parse(result.stdout) as { instances: Array<Record<string, unknown>>; daemon: { event_loop_lag_ms: number } };
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const workDir = mkdtempSync(join(tmpdir(), 'vrrpd-netns-'));
let serial = 0;

/** Write the config and start `vrrpd run` in the host's namespace. */
export function startVrrpd(lab: Lab, host: string, configYaml: string): VrrpdProcess {
  const id = `${host}-${++serial}`;
  const configPath = join(workDir, `${id}.yaml`);
  const socketPath = join(workDir, `${id}.sock`);
  writeFileSync(configPath, configYaml);
  const child = lab.spawn(host, process.execPath, [VRRPD_BIN, 'run', '--config', configPath, '--socket', socketPath, '--log-level', 'debug']);
  return new VrrpdProcess(lab, host, socketPath, configPath, child);
}

/** Poll until `check` returns true. */
export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string, intervalMs = 20): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now();
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
