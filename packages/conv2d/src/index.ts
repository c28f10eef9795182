export * from '@conv2d/core';
export { type AutoConv2d, conv2d, createAutoConv2d } from './auto.js';
export { registerStandardBackends, standardProviders } from './standard.js';
