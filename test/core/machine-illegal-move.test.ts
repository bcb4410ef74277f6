/**
 * The machine asserts every move against the transition table (src/core/transitions.ts): with the
 * BACKUP -> MASTER row taken out of the table it consults, the move that row allows throws instead
 * of happening. (Module mocking is per file, hence a file of its own.)
 */
import { describe, expect, it, vi } from 'vitest';
import type { TransitionReason, VrrpState } from '../../src/core/types.js';

const REMOVED = { from: 'BACKUP', to: 'MASTER', reason: 'master_down_timer' } as const;

vi.mock('../../src/core/transitions.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/core/transitions.js')>();
  const table = real.TRANSITIONS.filter((r) => !(r.from === REMOVED.from && r.to === REMOVED.to && r.reason === REMOVED.reason));
  return {
    ...real,
    checkTransition: (from: VrrpState, to: VrrpState, reason: TransitionReason) => real.checkTransition(from, to, reason, table),
  };
});

const { VrrpMachine } = await import('../../src/core/machine.js');
const { IllegalTransitionError } = await import('../../src/core/transitions.js');
const { seedConfig } = await import('./helpers.js');

describe('a move missing from the table', () => {
  it('throws IllegalTransitionError and the machine stays where it was', () => {
    const machine = new VrrpMachine(seedConfig());
    machine.start(0);
    expect(machine.state).toBe('BACKUP');
    expect(() => machine.handleTimeout(machine.nextDeadline())).toThrow(IllegalTransitionError);
    expect(() => machine.handleTimeout(machine.nextDeadline())).toThrow(/illegal transition BACKUP -> MASTER \(master_down_timer\)/);
    expect(machine.state).toBe('BACKUP');
  });

  it('the moves still in the table happen as before', () => {
    const machine = new VrrpMachine(seedConfig());
    machine.start(0);
    machine.setFault(1, 'interface:ens32', true);
    expect(machine.state).toBe('FAULT');
  });
});
