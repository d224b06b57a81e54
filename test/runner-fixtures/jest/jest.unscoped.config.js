// The jest config test/runners.test.ts runs for a test file without nodeleak/jest: its checks are refused.
module.exports = { testEnvironment: 'node', testMatch: ['<rootDir>/*.unscoped-jest.js'], testTimeout: 60000 };
