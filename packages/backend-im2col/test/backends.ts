import { afterAll } from 'vitest';
import {
  createIm2colBackend,
  type Im2colBackend,
  type Im2colBackendOptions,
} from '../src/index.js';

/** `createIm2colBackend` for one test file: every backend it makes is disposed after the file. */
export function backendMaker(): (options: Im2colBackendOptions) => Promise<Im2colBackend> {
  const made: Im2colBackend[] = [];
  afterAll(() => {
    for (const b of made) b.dispose();
  });
  return async (options) => {
    const b = await createIm2colBackend(options);
    made.push(b);
    return b;
  };
}
