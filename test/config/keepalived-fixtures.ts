/** The keepalived.conf fixtures, shared by the keepalived test files. */
import { readFileSync } from 'node:fs';

export const KEEPALIVED_FIXTURES = new URL('./fixtures/keepalived/', import.meta.url);

/** The seed's six keepalived.conf files, as `preempt/master1.conf` -> text. */
export function seedFixtures(): Map<string, string> {
  const files = new Map<string, string>();
  for (const mode of ['preempt', 'nopreempt']) {
    for (const n of [1, 2, 3]) files.set(`${mode}/master${n}.conf`, readFileSync(new URL(`${mode}/master${n}.conf`, KEEPALIVED_FIXTURES), 'utf8'));
  }
  return files;
}
