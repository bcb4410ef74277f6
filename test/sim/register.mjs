// `npm run sim` (node --import ./test/sim/register.mjs test/sim/soak.ts) loads TypeScript the same
// way as every other script under test/: through test/register.mjs.
import '../register.mjs';
