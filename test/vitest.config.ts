import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('..', import.meta.url));

const REAL_KERNEL = ['test/netns/**/*.test.ts', 'test/interop/**/*.test.ts', 'test/packaging/**/*.test.ts'];

/**
 * Real-kernel files that only wait for outcomes and measure no timing: no failover window, no
 * interval, no latency bound tighter than seconds, no machine-wide look at processes or labs. They
 * run two at a time (project netns-wait) after the timing-sensitive files, which run one at a time
 * (project netns) with nothing beside them. A file that asserts a time in milliseconds, starts
 * `vrrpd lab` or looks at every process on the machine does not belong here.
 */
const WAIT_ONLY = [
  'test/packaging/pack.test.ts',
  'test/packaging/examples.test.ts',
  'test/packaging/systemd.test.ts',
  'test/packaging/sd-notify.test.ts',
  'test/packaging/nonroot-checks.test.ts',
  'test/netns/verdicts.test.ts',
  'test/netns/failclosed.test.ts',
  'test/netns/cloexec.test.ts',
  'test/netns/script-privileges.test.ts',
  'test/interop/lab.test.ts',
  'test/interop/unicast-fault.test.ts',
  'test/interop/notify-fifo.test.ts',
];

// Three projects: pure tests run in parallel; real-kernel tests (network namespaces, real processes,
// systemd in a container, timing windows) run one file at a time so that they do not compete for
// the two cores, except the wait-only ones above, two at a time, in a group of their own
// (sequence.groupOrder: the groups run one after the other). Run both real-kernel projects with
// --project 'netns*'.
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
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'netns',
          root,
          include: REAL_KERNEL,
          exclude: [...WAIT_ONLY, '**/node_modules/**'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'netns-wait',
          root,
          include: WAIT_ONLY,
          maxWorkers: 2,
          testTimeout: 60_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
