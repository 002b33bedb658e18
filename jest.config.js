/** Jest runs the TypeScript sources as native ES modules through ts-jest. */
export default {
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
