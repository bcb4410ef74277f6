#!/usr/bin/env node
// Entry point for the long soak: `node test/sim/soak.mjs --seeds 10000` or `--seed N` to replay one.
// Registers the TypeScript loader (test/register.mjs), then runs soak.ts; see it for the options.
import '../register.mjs';

await import('./soak.ts');
