/** Node-only helpers: reading fixture folders from disk. */
export * from './fixture-files.js';
