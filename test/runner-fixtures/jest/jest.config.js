// The jest config test/runners.test.ts runs: nodeleak's matchers registered for every test file.
module.exports = { testEnvironment: 'node', setupFilesAfterEnv: ['nodeleak/jest'], testMatch: ['<rootDir>/*.jest.js'], testTimeout: 60000 };
