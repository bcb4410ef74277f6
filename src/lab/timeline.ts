/**
 * The lab's record: a timeline of events, one line each as they happen (or collected for --json),
 * and the summary of every VIP move the client saw, printed as a table at the end.
 */

export type EventKind =
  /** Something the lab did: killed an apiserver, stopped a daemon, pulled a cable. */
  | 'action'
  /** A daemon changed state, or its check or link changed. */
  | 'state'
  | 'check'
  | 'link'
  /** The kernel of a master added or removed the VIP. */
  | 'vip'
  /** The client's view: who answers on VIP:6443, and the outage it saw. */
  | 'client'
  | 'scenario'
  | 'error';

export interface LabEvent {
  /** Milliseconds since the daemons were started. */
  t_ms: number;
  scenario: string;
  kind: EventKind;
  node?: string;
  text: string;
  outage_ms?: number;
}

export interface SummaryRow {
  scenario: string;
  step: string;
  /** The client's outage: last reply from the old holder to the first from the new one. */
  outage_ms: number | null;
  from: string | null;
  to: string | null;
  /** Whether the VIP ended where the lab expected, in time. */
  ok: boolean;
  note?: string;
  /**
   * Timed from the wire (v3 config set): the old master's last advert that mattered to the new
   * master's first advert, ms; and the protocol's floor for it, with what it is made of.
   */
  failover_ms?: number;
  floor_ms?: number;
  floor?: string;
  /** Dual-stack config set: the client's outage on the IPv6 VIP (null: it did not move with the IPv4 one). */
  outage6_ms?: number | null;
  /**
   * Dual-stack config set: the longest stretch in which the two VIPs were held on different nodes
   * during this step, ms (from the kernels' address notifications).
   */
  apart_ms?: number;
}

/** How long the live output holds an event back so that later-arriving earlier events go first. */
const REORDER_WINDOW_MS = 150;

export function formatOffset(ms: number): string {
  return `+${(ms / 1000).toFixed(2).padStart(6)}s`;
}

export class Timeline {
  readonly events: LabEvent[] = [];
  readonly summary: SummaryRow[] = [];
  scenario = 'setup';
  private originMs: number | undefined;
  private pending: LabEvent[] = [];
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(private readonly live: NodeJS.WritableStream | undefined) {}

  /** Time zero of the timeline: when the daemons are started. */
  startClock(nowMs: number): void {
    this.originMs ??= nowMs;
  }

  get started(): boolean {
    return this.originMs !== undefined;
  }

  offset(timeMs: number): number {
    return this.originMs === undefined ? 0 : timeMs - this.originMs;
  }

  add(kind: EventKind, text: string, timeMs = Date.now(), extra: { node?: string; outage_ms?: number } = {}): LabEvent {
    const event: LabEvent = { t_ms: Math.round(this.offset(timeMs)), scenario: this.scenario, kind, ...extra, text };
    this.events.push(event);
    if (this.live !== undefined) {
      this.pending.push(event);
      if (this.flushTimer === undefined) {
        this.flushTimer = setInterval(() => this.flush(false), 50);
        this.flushTimer.unref();
      }
    }
    return event;
  }

  /**
   * Print the events that can no longer be overtaken, in time order. Events arrive a few ms out of
   * order (a daemon's log line carries its own time, the probe's reply its own, and each travels
   * through its own pipe); holding each back for REORDER_WINDOW_MS makes the live timeline read in
   * the order things happened.
   */
  private flush(all: boolean): void {
    if (this.live === undefined || this.pending.length === 0) return;
    const horizon = this.offset(Date.now()) - REORDER_WINDOW_MS;
    this.pending.sort((a, b) => a.t_ms - b.t_ms);
    const due = all ? this.pending.length : this.pending.findIndex((e) => e.t_ms > horizon);
    for (const event of this.pending.splice(0, due === -1 ? this.pending.length : due)) {
      if (event.kind === 'scenario') this.live.write(`\n== ${event.text}\n`);
      else this.live.write(`${formatOffset(event.t_ms)}  ${event.text}\n`);
    }
  }

  /** Print whatever is still held back; call before the summary. */
  close(): void {
    this.flush(true);
    clearInterval(this.flushTimer);
    this.flushTimer = undefined;
  }

  /** A line for the live output only (headers, notes); not an event. */
  say(text: string): void {
    this.flush(true);
    this.live?.write(`${text}\n`);
  }

  row(row: SummaryRow): void {
    this.summary.push(row);
  }
}

/** The summary as an aligned text table. */
export function formatSummary(rows: readonly SummaryRow[]): string {
  // The wire's column only when the lab timed something from the wire (the v3 config set).
  const wire = rows.some((r) => r.failover_ms !== undefined);
  // The IPv6 columns only for a dual-stack run.
  const dual = rows.some((r) => r.outage6_ms !== undefined || r.apart_ms !== undefined);
  const header = ['scenario', 'what happened', 'client outage', ...(dual ? ['IPv6 outage', 'VIPs apart'] : []), ...(wire ? ['failover on the wire (floor)'] : []), 'VIP held by', 'result'];
  const body = rows.map((r) => [
    r.scenario,
    r.step,
    r.outage_ms === null ? '-' : `${r.outage_ms} ms`,
    ...(dual ? [r.outage6_ms === undefined || r.outage6_ms === null ? '-' : `${r.outage6_ms} ms`, r.apart_ms === undefined ? '-' : `${r.apart_ms} ms`] : []),
    ...(wire ? [r.failover_ms === undefined || r.floor_ms === undefined ? '-' : `${r.failover_ms.toFixed(1)} ms (${r.floor!.replace(/:.*/, '')} ${r.floor_ms.toFixed(1)} ms, +${(r.failover_ms - r.floor_ms).toFixed(1)})`] : []),
    r.from !== null && r.to !== null && r.from !== r.to ? `${r.from} -> ${r.to}` : (r.to ?? 'nobody'),
    r.ok ? 'ok' : `FAILED${r.note ? `: ${r.note}` : ''}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i === 2 || (dual && (i === 3 || i === 4)) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const floors = [...new Set(rows.flatMap((r) => (r.failover_ms !== undefined && r.floor !== undefined ? [r.floor] : [])))];
  const notes = floors.length === 0 ? [] : ['', "failover on the wire: the old master's last advert that mattered to the new master's first; floor:", ...floors.map((f) => `  ${f}`)];
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line), ...notes].join('\n') + '\n';
}
