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
}

export function formatOffset(ms: number): string {
  return `+${(ms / 1000).toFixed(2).padStart(6)}s`;
}

export class Timeline {
  readonly events: LabEvent[] = [];
  readonly summary: SummaryRow[] = [];
  scenario = 'setup';
  private originMs: number | undefined;

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
      if (kind === 'scenario') this.live.write(`\n== ${text}\n`);
      else this.live.write(`${formatOffset(event.t_ms)}  ${text}\n`);
    }
    return event;
  }

  /** A line for the live output only (headers, notes); not an event. */
  say(text: string): void {
    this.live?.write(`${text}\n`);
  }

  row(row: SummaryRow): void {
    this.summary.push(row);
  }
}

/** The summary as an aligned text table. */
export function formatSummary(rows: readonly SummaryRow[]): string {
  const header = ['scenario', 'what happened', 'client outage', 'VIP held by', ''];
  const body = rows.map((r) => [
    r.scenario,
    r.step,
    r.outage_ms === null ? '-' : `${r.outage_ms} ms`,
    r.from !== null && r.to !== null && r.from !== r.to ? `${r.from} -> ${r.to}` : (r.to ?? 'nobody'),
    r.ok ? '' : `FAILED${r.note ? `: ${r.note}` : ''}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i === 2 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n') + '\n';
}
