export * from '@conv2d/core';
export { registerStandardBackends, standardProviders } from './standard.js';
