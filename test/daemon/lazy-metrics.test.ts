/**
 * The daemon's modules do not load prom-client until a metrics endpoint is opened: it is 0.6 MB of
 * the idle daemon's live heap (marked by every full GC) and ~80 ms of CPU at start, for an endpoint
 * most configurations do not ask for (docs/benchmarks.md, the footprint section). Checked in a
 * child process: prom-client is CommonJS, so once loaded it sits in require's cache.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Import `modules` (repository paths) in a fresh node and list the prom-client files then loaded. */
function promClientFilesAfterImporting(modules: string[]): string[] {
  const script = `
    const { createRequire } = await import('node:module');
    for (const m of ${JSON.stringify(modules)}) await import(new URL(m, 'file://${ROOT}/').href);
    const cache = createRequire(import.meta.url).cache;
    console.log(JSON.stringify(Object.keys(cache).filter((f) => f.includes('/node_modules/prom-client/'))));
  `;
  const out = execFileSync(process.execPath, ['--import', './test/register.mjs', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  return JSON.parse(out.trim().split('\n').pop()!) as string[];
}

describe('prom-client is loaded only for the metrics endpoint', () => {
  it('importing the supervisor and `vrrpd run` loads none of it', () => {
    expect(promClientFilesAfterImporting(['src/daemon/supervisor.ts', 'src/cli/run.ts'])).toEqual([]);
  }, 40_000);

  it('importing the metrics module does (the check above can see it)', () => {
    expect(promClientFilesAfterImporting(['src/daemon/metrics.ts']).length).toBeGreaterThan(0);
  }, 40_000);
});
