import { describe, expect, it } from 'vitest';
import { SEED_CONFIG } from '../src/example.js';
import { fromQuery, toQuery, type ViewState } from '../src/url-state.js';

const DEFAULTS: ViewState = {
  config: SEED_CONFIG,
  step: 0,
  showAll: false,
  backend: 'naive',
  cell: null,
};

describe('the view in the URL', () => {
  it('writes only what differs from the defaults, and reads it back', () => {
    const view: ViewState = {
      config: { ...SEED_CONFIG, width: 8, stride: [2, 3], padding: [1, 2, 2, 0], bias: false },
      step: 8,
      showAll: true,
      backend: 'im2col:col2im',
      cell: 'dxHat.1:12',
    };
    const query = toQuery(view, DEFAULTS);
    expect(query).toBe(
      'w=8&stride=2%2C3&pad=1%2C2%2C2%2C0&bias=0&step=9&all=1&backend=im2col%3Acol2im&cell=dxHat.1%3A12',
    );
    expect(fromQuery(query, DEFAULTS, 10)).toEqual(view);
    expect(toQuery(DEFAULTS, DEFAULTS)).toBe('');
  });

  it('keeps the default for anything unreadable, leaving validation to core', () => {
    const view = fromQuery(
      'cell=y:&h=-1&w=x&stride=2&pad=1,1,1,1,1&dil=2,2&step=11&groups=0',
      DEFAULTS,
      10,
    );
    expect(view.config).toEqual({ ...SEED_CONFIG, dilation: [2, 2], groups: 0 });
    expect(view.step).toBe(0);
    expect(view.cell).toBeNull();
  });
});
