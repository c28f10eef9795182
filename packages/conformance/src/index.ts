export * from './cases.js';
export * from './checks.js';
export * from './invalid-calls.js';
export * from './node.js';
export * from './runner.js';
export * from './stress.js';
export type { StressOptions } from './stress-suite.js';
export * from './suite.js';
