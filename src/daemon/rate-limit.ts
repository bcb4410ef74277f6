/**
 * At most one line per key per window: the first occurrence logs at once, later ones are counted
 * and reported with the next line for that key (`suppressed`). Pure (time is an argument), so the
 * engine decides what is logged and the simulator runs the same rule.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { atMs: number; suppressed: number }>();

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys = 256,
  ) {}

  /** Returns the number of suppressed events to report with this line, or undefined to stay quiet. */
  admit(key: string, nowMs: number): number | undefined {
    const entry = this.last.get(key);
    if (entry && nowMs - entry.atMs < this.windowMs) {
      entry.suppressed++;
      return undefined;
    }
    if (!entry && this.last.size >= this.maxKeys) this.last.clear(); // bounded memory under any input
    const suppressed = entry?.suppressed ?? 0;
    this.last.set(key, { atMs: nowMs, suppressed: 0 });
    return suppressed;
  }
}
