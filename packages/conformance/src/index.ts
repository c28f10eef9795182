export * from './cases.js';
export * from './checks.js';
export * from './invalid-calls.js';
export * from './node.js';
export * from './runner.js';
export * from './suite.js';
