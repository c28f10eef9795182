/** Fixture loading, comparison and single-case runs, without any test framework. */
export * from './fixture.js';
export * from './random.js';
export * from './run-fixture.js';
export * from './tolerance.js';
