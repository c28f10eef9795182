export * from './backend.js';
export * from './describe.js';
export * from './errors.js';
export * from './options.js';
export * from './registry.js';
export * from './select.js';
export * from './tensor.js';
