/** The daemon's plan from a YAML config text, through the real loader (tests of src/daemon). */
import { parseConfigText } from '../../src/config/load.js';
import type { DaemonPlan } from '../../src/daemon/engine.js';
import { planDaemon } from '../../src/daemon/plan.js';

export function planOf(text: string): DaemonPlan {
  const loaded = parseConfigText(text, 'test.yaml');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return planDaemon(loaded.config);
}
