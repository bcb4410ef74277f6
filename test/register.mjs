// Lets `node --import ./test/register.mjs some.ts` run TypeScript scripts (the simulator soak and the
// benchmarks) without another dependency: TypeScript, already a devDependency, strips the types.
import { register } from 'node:module';
register('./ts-loader.mjs', import.meta.url);
