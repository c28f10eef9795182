import type { ExampleConfig } from './example.js';

/*
 * The page's state in its URL (`?h=6&w=8&stride=2,3&pad=1,2,2,0&step=8`), so a link reproduces
 * a view. Only what differs from the defaults is written; anything unreadable in a link falls
 * back to the default rather than breaking the page (core still validates what is read).
 */

export interface ViewState {
  config: ExampleConfig;
  /** 0-based step index (1-based in the URL, as the page numbers its steps). */
  step: number;
  showAll: boolean;
  backend: string;
  /** The pinned cell (clicked or focused), `<array>:<index>` as on the page; null: none. */
  cell: string | null;
}

type Field = {
  key: string;
  get: (c: ExampleConfig) => number[];
  set: (c: ExampleConfig, v: number[]) => void;
};

const FIELDS: Field[] = [
  ...(
    [
      ['n', 'batch'],
      ['cin', 'inChannels'],
      ['h', 'height'],
      ['w', 'width'],
      ['cout', 'outChannels'],
      ['kh', 'kernelHeight'],
      ['kw', 'kernelWidth'],
      ['groups', 'groups'],
    ] as const
  ).map(
    ([key, prop]): Field => ({
      key,
      get: (c) => [c[prop]],
      set: (c, [v]) => {
        c[prop] = v;
      },
    }),
  ),
  ...(
    [
      ['stride', 'stride'],
      ['pad', 'padding'],
      ['dil', 'dilation'],
    ] as const
  ).map(
    ([key, prop]): Field => ({
      key,
      get: (c) => [...c[prop]],
      set: (c, v) => {
        if (v.length === c[prop].length) (c[prop] as number[]) = v;
      },
    }),
  ),
  {
    key: 'bias',
    get: (c) => [c.bias ? 1 : 0],
    set: (c, [v]) => {
      c.bias = v !== 0;
    },
  },
];

/** The query string for `state`, leaving out what equals `defaults`. */
export function toQuery(state: ViewState, defaults: ViewState): string {
  const q = new URLSearchParams();
  for (const f of FIELDS) {
    const v = f.get(state.config).join(',');
    if (v !== f.get(defaults.config).join(',')) q.set(f.key, v);
  }
  if (state.step !== defaults.step) q.set('step', String(state.step + 1));
  if (state.showAll) q.set('all', '1');
  if (state.backend !== defaults.backend) q.set('backend', state.backend);
  if (state.cell) q.set('cell', state.cell);
  return q.toString();
}

/** Reads a query string over `defaults`: missing or unreadable entries keep the default. */
export function fromQuery(query: string, defaults: ViewState, steps: number): ViewState {
  const q = new URLSearchParams(query);
  const state = structuredClone(defaults);
  const numbers = (key: string) => {
    const raw = q.get(key);
    const v = raw === null || raw === '' ? [] : raw.split(',').map(Number);
    return v.length > 0 && v.every((x) => Number.isInteger(x) && x >= 0) ? v : null;
  };
  for (const f of FIELDS) {
    const v = numbers(f.key);
    if (v) f.set(state.config, v);
  }
  const step = numbers('step')?.[0];
  if (step !== undefined && step >= 1 && step <= steps) state.step = step - 1;
  state.showAll = q.get('all') === '1';
  state.backend = q.get('backend') || defaults.backend;
  const cell = q.get('cell');
  state.cell = cell && /^[A-Za-z]+(\.\d+)?:\d+$/.test(cell) ? cell : null;
  return state;
}
