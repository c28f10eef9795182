// vitest 5's reporter calls Map.groupBy (Node >= 21) when it prints a failure; on Node 20 it
// would crash instead of showing what failed.
if (!('groupBy' in Map)) {
  Object.defineProperty(Map, 'groupBy', {
    value: <T, K>(items: Iterable<T>, key: (item: T, i: number) => K) => {
      const map = new Map<K, T[]>();
      let i = 0;
      for (const item of items) {
        const k = key(item, i++);
        map.set(k, [...(map.get(k) ?? []), item]);
      }
      return map;
    },
  });
}

// Chromium tests: build the site, serve it, drive /usr/bin/chromium through playwright-core.

export {};
