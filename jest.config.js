/** ESM + ts-jest; workspace packages resolve to their sources (no build step before tests). */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.test.json' }]
  },
  moduleNameMapper: {
    '^@secgate/core/action$': '<rootDir>/packages/core/src/action/index.ts',
    '^@secgate/stages$': '<rootDir>/packages/cli/src/stages.ts',
    '^@secgate/(core|sast|sca|adversarial|container)$': '<rootDir>/packages/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1'
  },
  testMatch: ['<rootDir>/packages/*/test/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
  testTimeout: 120000,
  maxWorkers: 2
};
