/**
 * Every state change the machine may make, as data (in the manner of h11's state table): a move
 * that is not a row here is a bug in machine.ts, and the machine throws rather than make it.
 *
 * Each row names the rule it follows: an RFC 3768 section (VRRPv2; the same section of RFC 5798 for
 * VRRPv3 unless the row says otherwise), or keepalived 2.2.7's behaviour where
 * the RFC has nothing to say (FAULT is not an RFC state) or where mixed clusters need keepalived's
 * answer. `doc` is the section of docs/protocol.md that explains the rule; the table in that file's
 * "Transition table" section is this one, rendered, and test/core/protocol-doc.test.ts keeps the two
 * equal.
 */
import type { TransitionReason, VrrpState } from './types.js';

export interface TransitionRule {
  from: VrrpState;
  to: VrrpState;
  reason: TransitionReason;
  /** The rule this move follows, in a few words: the RFC section, or keepalived's behaviour. */
  rule: string;
  /** Where docs/protocol.md explains it. */
  doc: `docs/protocol.md#${string}`;
}

/** The allowed (from, to, reason) triples, grouped by the state moved from. */
export const TRANSITIONS: readonly TransitionRule[] = [
  {
    from: 'INIT', to: 'BACKUP', reason: 'start',
    rule: 'RFC 3768 6.4.1 (not the owner); keepalived also with `state MASTER`',
    doc: 'docs/protocol.md#starting',
  },
  {
    from: 'INIT', to: 'MASTER', reason: 'address_owner',
    rule: 'RFC 3768 6.4.1 (priority 255)',
    doc: 'docs/protocol.md#starting',
  },
  {
    from: 'INIT', to: 'FAULT', reason: 'fault',
    rule: 'keepalived: a fault known at start (link down, weight-0 check failing, no source address)',
    doc: 'docs/protocol.md#fault',
  },
  {
    from: 'BACKUP', to: 'MASTER', reason: 'master_down_timer',
    rule: 'RFC 3768 6.4.2 (Master_Down_Timer fires); v3: 3 x Master_Adver_Interval + Skew_Time, both from the interval learnt from the master',
    doc: 'docs/protocol.md#receiving-in-backup',
  },
  {
    from: 'BACKUP', to: 'MASTER', reason: 'sync_group',
    rule: 'keepalived: another member of the sync group became MASTER',
    doc: 'docs/protocol.md#sync-groups',
  },
  {
    from: 'BACKUP', to: 'FAULT', reason: 'fault',
    rule: 'keepalived: a fault cause appears',
    doc: 'docs/protocol.md#fault',
  },
  {
    from: 'BACKUP', to: 'INIT', reason: 'shutdown',
    rule: 'RFC 3768 6.4.2 (Shutdown event)',
    doc: 'docs/protocol.md#shutdown',
  },
  {
    from: 'MASTER', to: 'BACKUP', reason: 'higher_priority_advert',
    rule: 'RFC 3768 6.4.3 (higher priority); v3: Master_Adver_Interval taken from that advert',
    doc: 'docs/protocol.md#receiving-in-master',
  },
  {
    from: 'MASTER', to: 'BACKUP', reason: 'equal_priority_higher_address',
    rule: 'RFC 3768 6.4.3 (equal priority, higher primary address); v3: as the row above',
    doc: 'docs/protocol.md#receiving-in-master',
  },
  {
    from: 'MASTER', to: 'BACKUP', reason: 'virtual_address_removed',
    rule: 'keepalived: a VIP deleted behind our back; back after Skew_Time',
    doc: 'docs/protocol.md#vips',
  },
  {
    from: 'MASTER', to: 'BACKUP', reason: 'sync_group',
    rule: 'keepalived: another member of the sync group went BACKUP; no priority-0 advert',
    doc: 'docs/protocol.md#sync-groups',
  },
  {
    from: 'MASTER', to: 'FAULT', reason: 'fault',
    rule: 'keepalived: a fault cause appears; priority-0 advert first',
    doc: 'docs/protocol.md#fault',
  },
  {
    from: 'MASTER', to: 'INIT', reason: 'shutdown',
    rule: 'RFC 3768 6.4.3 (Shutdown event: priority-0 advert)',
    doc: 'docs/protocol.md#shutdown',
  },
  {
    from: 'FAULT', to: 'BACKUP', reason: 'fault_cleared',
    rule: 'keepalived: the last fault cause clears; full Master_Down (v3: from our own interval again)',
    doc: 'docs/protocol.md#fault',
  },
  {
    from: 'FAULT', to: 'MASTER', reason: 'fault_cleared',
    rule: 'keepalived: the last fault cause clears on the address owner',
    doc: 'docs/protocol.md#fault',
  },
  {
    from: 'FAULT', to: 'INIT', reason: 'shutdown',
    rule: 'keepalived: stopping from FAULT sends nothing',
    doc: 'docs/protocol.md#shutdown',
  },
];

/** `FROM>TO>reason`, the key tests and counters use for one triple. */
export function transitionKey(from: VrrpState, to: VrrpState, reason: TransitionReason): string {
  return `${from}>${to}>${reason}`;
}

/** Thrown by the machine for a move that is not in the table: a bug, never an input error. */
export class IllegalTransitionError extends Error {
  constructor(
    readonly from: VrrpState,
    readonly to: VrrpState,
    readonly reason: TransitionReason,
  ) {
    super(`illegal transition ${from} -> ${to} (${reason}): not in src/core/transitions.ts; this is a bug`);
    this.name = 'IllegalTransitionError';
  }
}

/**
 * Call before every state change: returns the rule that allows the move, or throws
 * IllegalTransitionError. `table` is for tests that check the machine consults it.
 */
export function checkTransition(
  from: VrrpState,
  to: VrrpState,
  reason: TransitionReason,
  table: readonly TransitionRule[] = TRANSITIONS,
): TransitionRule {
  const rule = table.find((r) => r.from === from && r.to === to && r.reason === reason);
  if (rule === undefined) throw new IllegalTransitionError(from, to, reason);
  return rule;
}
