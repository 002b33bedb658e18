/** Jest runs the TypeScript sources as native ES modules through ts-jest. */
import { availableParallelism } from 'node:os';

export default {
  // At least two workers, also on two cores (jest's default there is one): much of the suite waits on
  // child processes, real Prometheus scrapes and minute boundaries, so a second worker overlaps that
  // waiting with work — the whole suite in 610 s instead of 1,113 s on the 2-core CI machine.
  maxWorkers: Math.max(2, availableParallelism() - 1),
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  roots: ['<rootDir>/src'],
  testMatch: ['**/*.test.ts'],
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  // Servers and child processes in the integration tests need a little longer than jest's 5 s default.
  testTimeout: 30000,
  reporters: ['default', '<rootDir>/scripts/jest-summary.cjs'],
  setupFiles: ['<rootDir>/scripts/jest-no-cluster.cjs'],
};
