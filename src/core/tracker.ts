/**
 * Rise/fall filtering of raw check results (docs/protocol.md#rise-and-fall), shared
 * by the script runner and the built-in checks so both obey one rule:
 * - the first result decides at once (a freshly started node should not wait `rise` intervals to
 *   learn that its apiserver is up, nor `fall` intervals to learn it is down);
 * - after that, `rise` consecutive successes make a failed tracker OK, and `fall` consecutive
 *   failures make an OK tracker failed; one contrary result resets the run;
 * - `init_fail` starts it failed, so the first result no longer decides: it needs `rise` successes;
 * - until its first result the status is 'unknown', which the machine treats as contributing nothing.
 *
 * The filter only counts; weights, reverse and FAULT live in the machine (machine.ts).
 */
import type { TrackerStatus } from './types.js';

export interface RiseFallOptions {
  /** Consecutive successes that make a failed tracker OK (>= 1). */
  rise: number;
  /** Consecutive failures that make an OK tracker failed (>= 1). */
  fall: number;
  /** Start failed instead of unknown (keepalived `init_fail`). */
  initFail: boolean;
}

export class RiseFallFilter {
  private current: TrackerStatus;
  /** Length of the current run of results that contradict `current`. */
  private contraryRun = 0;

  constructor(private readonly options: RiseFallOptions) {
    if (!Number.isInteger(options.rise) || options.rise < 1) throw new Error(`rise must be a whole number >= 1, got ${options.rise}`);
    if (!Number.isInteger(options.fall) || options.fall < 1) throw new Error(`fall must be a whole number >= 1, got ${options.fall}`);
    this.current = options.initFail ? 'failed' : 'unknown';
  }

  /** The filtered status: what the machine should currently believe. */
  get status(): TrackerStatus {
    return this.current;
  }

  /** How many more contrary results are needed before the status flips (0 while unknown). */
  get pendingToFlip(): number {
    if (this.current === 'unknown') return 0;
    const needed = this.current === 'ok' ? this.options.fall : this.options.rise;
    return needed - this.contraryRun;
  }

  /** Call with every raw result. Returns the new status when it changed, else undefined. */
  record(ok: boolean): TrackerStatus | undefined {
    const observed: TrackerStatus = ok ? 'ok' : 'failed';
    if (this.current === 'unknown') {
      this.current = observed;
      this.contraryRun = 0;
      return observed;
    }
    if (observed === this.current) {
      this.contraryRun = 0;
      return undefined;
    }
    this.contraryRun++;
    const needed = this.current === 'ok' ? this.options.fall : this.options.rise;
    if (this.contraryRun < needed) return undefined;
    this.current = observed;
    this.contraryRun = 0;
    return observed;
  }
}

/**
 * Tracker names, the one place they are spelt: `script:NAME` for a vrrp_script (whatever its kind),
 * `interface:NAME` for a tracked link. The config layer names trackers with these, the engine
 * routes results by them, and status shows them.
 */
export type TrackerKind = 'script' | 'interface';

export function scriptTrackerName(scriptName: string): string {
  return `script:${scriptName}`;
}

export function interfaceTrackerName(interfaceName: string): string {
  return `interface:${interfaceName}`;
}

/** The kind and target of a tracker name, or undefined for a name no module above would make. */
export function parseTrackerName(name: string): { kind: TrackerKind; target: string } | undefined {
  const colon = name.indexOf(':');
  const kind = name.slice(0, colon);
  if (colon <= 0 || (kind !== 'script' && kind !== 'interface')) return undefined;
  return { kind, target: name.slice(colon + 1) };
}
