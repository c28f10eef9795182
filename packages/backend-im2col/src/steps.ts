/**
 * A pass written as a generator that yields what it waits for: a promise where a job runs on the
 * worker pool, null where it ran on the calling thread. `drive` runs it synchronously until the
 * first promise, so a single-threaded call does all its work, reading its inputs, before it
 * returns: a caller that changes x or dy as soon as the call has started (calls not awaited in
 * turn) cannot change the result. An `async` pass would yield to the caller at every await.
 */
export type Steps<T = void> = Generator<Promise<void> | null, T, void>;

/** Runs `steps` to the end: its value, or a promise of it once a step had to wait. */
export function drive<T>(steps: Steps<T>, result = steps.next()): T | Promise<T> {
  let r = result;
  while (!r.done) {
    const pending = r.value;
    if (pending) {
      return pending.then(
        () => drive(steps, steps.next()),
        (e: unknown) => drive(steps, steps.throw(e)),
      );
    }
    r = steps.next();
  }
  return r.value;
}

/** f(value), after `value` settles when it is a promise. */
export function after<T, U>(value: T | Promise<T>, f: (v: T) => U): U | Promise<U> {
  return value instanceof Promise ? value.then(f) : f(value);
}
