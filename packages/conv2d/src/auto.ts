import {
  type Conv2dBackend,
  createBackend,
  type Selection,
  type SelectOptions,
  selectBackend,
} from '@conv2d/core';
import { registerStandardBackends } from './standard.js';

/**
 * conv2d on a backend chosen for you: selected on first use, then reused. Plans and device
 * tensors belong to the backend in use when they were made: switching (`use`, `select`) or
 * `dispose` disposes them with it.
 */
export interface AutoConv2d
  extends Pick<Conv2dBackend, 'forward' | 'backward' | 'plan' | 'upload'> {
  /** The backend in use, selecting it now if nothing was used yet. */
  backend(): Promise<Conv2dBackend>;
  /** How the backend in use was chosen: its spec and the candidates passed over, with reasons. */
  selection(): Promise<Selection>;
  /**
   * Runs `selectBackend` now with these options (candidates, requirements, create options)
   * and uses its choice from then on.
   */
  select(options?: SelectOptions): Promise<Selection>;
  /**
   * Uses this spec (`im2col:transposed`, ...) or backend from now on. A spec that cannot run
   * here rejects with `unavailable`; the previous backend stays in use then.
   */
  use(backend: string | Conv2dBackend): Promise<Conv2dBackend>;
  /** Disposes the backend this object created; the next call selects again. */
  dispose(): void;
}

/**
 * Creates an independent auto-selecting conv2d. The standard backends are registered on first
 * use; `CONV2D_BACKEND` overrides the choice as it does for `selectBackend`.
 */
export function createAutoConv2d(defaults: SelectOptions = {}): AutoConv2d {
  let current: Promise<Selection> | null = null;
  // Backends handed to `use` belong to the caller: never disposed here.
  let owned = false;

  const release = (previous: Promise<Selection> | null, keep?: Conv2dBackend) => {
    previous?.then(
      (s) => {
        if (s.backend !== keep) s.backend.dispose();
      },
      () => {},
    );
  };

  /** Switches to a new choice once it has worked; a failed one leaves the current in place. */
  const adopt = async (next: Promise<Selection>, ownsNext: boolean): Promise<Selection> => {
    const selection = await next;
    const previous = owned ? current : null;
    current = Promise.resolve(selection);
    owned = ownsNext;
    release(previous, selection.backend);
    return selection;
  };

  const selection = (): Promise<Selection> => {
    if (!current) {
      registerStandardBackends();
      const pending = selectBackend(defaults);
      current = pending;
      owned = true;
      // a failed selection is not cached: the next call tries again
      pending.catch(() => {
        if (current === pending) current = null;
      });
    }
    return current;
  };

  return {
    async forward(x, w, b, options) {
      return (await selection()).backend.forward(x, w, b, options);
    },
    async backward(dy, x, w, options, wanted) {
      return (await selection()).backend.backward(dy, x, w, options, wanted);
    },
    async plan(spec) {
      return (await selection()).backend.plan(spec);
    },
    async upload(t) {
      return (await selection()).backend.upload(t);
    },
    async backend() {
      return (await selection()).backend;
    },
    selection,
    select(options = defaults) {
      registerStandardBackends();
      return adopt(selectBackend(options), true);
    },
    async use(backend) {
      if (typeof backend !== 'string') {
        const given: Selection = { backend, spec: backend.name, skipped: [], fromEnv: false };
        return (await adopt(Promise.resolve(given), false)).backend;
      }
      registerStandardBackends();
      const created = createBackend(backend).then(
        (b): Selection => ({ backend: b, spec: backend, skipped: [], fromEnv: false }),
      );
      return (await adopt(created, true)).backend;
    },
    dispose() {
      if (owned) release(current);
      current = null;
      owned = false;
    },
  };
}

/**
 * conv2d on the best backend available here (see `selectBackend`): `await conv2d.forward(x, w)`.
 * `conv2d.backend()` tells which one runs, `conv2d.use('im2col:transposed')` picks another.
 */
export const conv2d: AutoConv2d = createAutoConv2d();
