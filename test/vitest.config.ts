import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('..', import.meta.url));

// Two projects: pure tests run in parallel; real-kernel tests (network namespaces, real processes,
// systemd in a container, timing windows) run one file at a time so that they do not compete for
// the two cores.
export default defineConfig({
  test: {
    root,
    projects: [
      {
        test: {
          name: 'unit',
          root,
          include: ['test/**/*.test.ts'],
          exclude: ['test/netns/**', 'test/interop/**', 'test/packaging/**', '**/node_modules/**'],
        },
      },
      {
        test: {
          name: 'netns',
          root,
          include: ['test/netns/**/*.test.ts', 'test/interop/**/*.test.ts', 'test/packaging/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
