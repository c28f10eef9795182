import { type ConvDescription, describeConv, tensor } from '@conv2d/core';
import { type BrowserBackend, browserBackends } from './backends.js';
import { type ExampleConfig, exampleInput, optionsOf, SEED_CONFIG, shapesOf } from './example.js';
import { block, el, fmt, matrix, planes, shapeText } from './render.js';
import { computeSteps, type Steps, tapOf } from './steps.js';

/* The playground: controls, the steps of the worked example, and a run on the chosen backend. */

/** Beyond this many X_hat elements the steps are not drawn, only summary numbers shown. */
const MAX_DRAWN = 4000;

const state = {
  config: structuredClone(SEED_CONFIG) as ExampleConfig,
  step: 0,
  showAll: false,
  row: 0,
  backends: [] as BrowserBackend[],
  backend: 'naive',
  runId: 0,
};

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

// ---- controls -------------------------------------------------------------------------

const FIELDS: [keyof ExampleConfig, number | null, string][] = [
  ['batch', null, 'N'],
  ['inChannels', null, 'Cin'],
  ['height', null, 'H'],
  ['width', null, 'W'],
  ['outChannels', null, 'Cout'],
  ['kernelHeight', null, 'Kh'],
  ['kernelWidth', null, 'Kw'],
  ['stride', 0, 'stride h'],
  ['stride', 1, 'stride w'],
  ['padding', 0, 'pad top'],
  ['padding', 1, 'pad bottom'],
  ['padding', 2, 'pad left'],
  ['padding', 3, 'pad right'],
  ['dilation', 0, 'dilation h'],
  ['dilation', 1, 'dilation w'],
  ['groups', null, 'groups'],
];

function fieldId(key: string, index: number | null): string {
  return index === null ? `in-${key}` : `in-${key}-${index}`;
}

function buildControls(): void {
  const form = $('controls');
  for (const [key, index, label] of FIELDS) {
    const input = el('input', { id: fieldId(key, index), type: 'number', min: '0', step: '1' });
    input.addEventListener('change', onControlsChange);
    form.append(el('label', {}, `${label} `, input));
  }
  const bias = el('input', { id: 'in-bias', type: 'checkbox' });
  bias.addEventListener('change', onControlsChange);
  form.append(el('label', {}, 'bias ', bias));
  const select = el('select', { id: 'in-backend' });
  select.addEventListener('change', () => {
    state.backend = select.value;
    void runBackend();
  });
  form.append(el('label', {}, 'backend ', select));
  const seedButton = el('button', { id: 'seed', type: 'button' }, 'Seed example');
  seedButton.addEventListener('click', () => {
    state.config = structuredClone(SEED_CONFIG);
    writeControls();
    update();
  });
  form.append(seedButton);
}

function writeControls(): void {
  for (const [key, index] of FIELDS) {
    const v = state.config[key];
    ($(fieldId(key, index)) as HTMLInputElement).value = String(
      index === null ? v : (v as number[])[index],
    );
  }
  ($('in-bias') as HTMLInputElement).checked = state.config.bias;
}

function onControlsChange(): void {
  const c = structuredClone(state.config);
  for (const [key, index] of FIELDS) {
    const v = Number(($(fieldId(key, index)) as HTMLInputElement).value);
    if (index === null) (c[key] as number) = v;
    else (c[key] as number[])[index] = v;
  }
  c.bias = ($('in-bias') as HTMLInputElement).checked;
  state.config = c;
  state.row = 0;
  update();
}

function fillBackendSelect(): void {
  const select = $('in-backend') as HTMLSelectElement;
  select.replaceChildren(
    ...state.backends.map((b) =>
      el(
        'option',
        { value: b.spec, ...(b.unavailable ? { disabled: '', title: b.unavailable } : {}) },
        b.unavailable ? `${b.spec} (unavailable here)` : b.spec,
      ),
    ),
  );
  select.value = state.backend;
}

// ---- the steps ------------------------------------------------------------------------

interface StepView {
  title: string;
  render(s: Steps): HTMLElement;
}

function isPadding(d: ConvDescription, h: number, w: number): boolean {
  return h < d.padTop || h >= d.padTop + d.inHeight || w < d.padLeft || w >= d.padLeft + d.inWidth;
}

/** Cells of the padded input that the selected window reads. */
function inWindow(s: Steps, n: number, h: number, w: number): boolean {
  const win = s.windows[state.row];
  if (!win || win.n !== n) return false;
  const dh = h - win.top;
  const dw = w - win.left;
  const d = s.desc;
  return (
    dh >= 0 &&
    dw >= 0 &&
    dh % d.dilationHeight === 0 &&
    dw % d.dilationWidth === 0 &&
    dh / d.dilationHeight < d.kernelHeight &&
    dw / d.dilationWidth < d.kernelWidth
  );
}

function paddedView(
  s: Steps,
  values = s.xPadded,
  note?: (n: number, c: number, h: number, w: number) => string,
) {
  return planes(values, {
    testId: 'padded',
    cellClass: (n, _c, h, w) =>
      [isPadding(s.desc, h, w) ? 'pad' : '', inWindow(s, n, h, w) ? 'win' : ''].join(' '),
    note,
  });
}

function windowLabel(s: Steps, r: number): string {
  const w = s.windows[r];
  const d = s.desc;
  const rows = `${w.top}–${w.top + d.effectiveKernelHeight - 1}`;
  const cols = `${w.left}–${w.left + d.effectiveKernelWidth - 1}`;
  return `${r}: n${w.n} (${w.i},${w.j}) rows ${rows} cols ${cols}`;
}

function tapLabels(d: ConvDescription): string[] {
  return Array.from({ length: d.reductionLength }, (_, k) => {
    const { cig, m, q } = tapOf(d, k);
    return `${cig}${m}${q}`;
  });
}

function selectRow(r: number): void {
  state.row = r;
  renderSteps();
}

function windowMatrix(s: Steps, m: Steps['groups'][number]['xHat'], testId: string) {
  return matrix(m, {
    testId,
    rowLabels: s.windows.map((_, r) => windowLabel(s, r)),
    colLabels: tapLabels(s.desc),
    rowClass: (r) => (r === state.row ? 'selected' : ''),
    onRowClick: selectRow,
  });
}

/** Row labels of the per-group matrices whose rows are output channels. */
function outChannelLabels(s: Steps, group: number): string[] {
  const per = s.desc.outChannelsPerGroup;
  return Array.from({ length: per }, (_, r) => `co=${group * per + r}`);
}

function groupTitle(s: Steps, g: number): string {
  return s.desc.groups > 1 ? ` (group ${g})` : '';
}

/** "a·b + c·d + … = y" over the non-zero products. */
function dotText(a: number[], b: number[], result: number): string {
  const terms = a.map((v, k) => [v, b[k]]).filter(([u, v]) => u !== 0 && v !== 0);
  const factor = (v: number) => (v < 0 ? `(${fmt(v)})` : fmt(v));
  const shown = terms.slice(0, 12).map(([u, v]) => `${factor(u)}·${factor(v)}`);
  if (terms.length > 12) shown.push('…');
  return `${shown.join(' + ') || '0'} = ${fmt(result)}`;
}

const STEPS: StepView[] = [
  {
    title: 'Pad the input',
    render: (s) =>
      block(
        `x ${shapeText(s.x.shape)} → padded ${shapeText(s.xPadded.shape)}`,
        `Padding [top ${s.desc.padTop}, bottom ${s.desc.padBottom}, left ${s.desc.padLeft}, right ${s.desc.padRight}] adds a border of zeros (grey). The highlighted cells are the window of X_hat row ${state.row}.`,
        planes(s.x, { testId: 'x' }),
        paddedView(s),
      ),
  },
  {
    title: 'im2col: X_hat',
    render: (s) =>
      el(
        'div',
        {},
        ...s.groups.map((g) =>
          block(
            `X_hat${groupTitle(s, g.group)} [${g.xHat.rows}, ${g.xHat.cols}]`,
            `One row per output position: the ${s.desc.kernelHeight}x${s.desc.kernelWidth} window (stride ${s.desc.strideHeight}x${s.desc.strideWidth}, dilation ${s.desc.dilationHeight}x${s.desc.dilationWidth}) of each input channel, stretched into a row. Columns are (channel, kernel row, kernel column). Click a row to see its window.`,
            windowMatrix(s, g.xHat, `xhat-${g.group}`),
          ),
        ),
        paddedView(s),
      ),
  },
  {
    title: 'Kernels: W_hat',
    render: (s) =>
      el(
        'div',
        {},
        block(
          `W ${shapeText(s.w.shape)}`,
          'Each output channel has one kernel.',
          planes(s.w, { axes: ['co', 'ci'], testId: 'w' }),
        ),
        ...s.groups.map((g) =>
          block(
            `W_hat${groupTitle(s, g.group)} [${g.wHat.rows}, ${g.wHat.cols}]`,
            'Each kernel flattened in the same (channel, row, column) order as the columns of X_hat.',
            matrix(g.wHat, {
              testId: `what-${g.group}`,
              rowLabels: outChannelLabels(s, g.group),
              colLabels: tapLabels(s.desc),
            }),
          ),
        ),
      ),
  },
  {
    title: 'Y_hat = W_hat · X_hatᵀ',
    render: (s) =>
      el(
        'div',
        {},
        ...s.groups.map((g) => {
          const k = g.wHat.cols;
          const row = g.xHat.data.slice(state.row * k, (state.row + 1) * k);
          const kernel = g.wHat.data.slice(0, k);
          return block(
            `Y_hat${groupTitle(s, g.group)} [${g.yHat.rows}, ${g.yHat.cols}]`,
            `Every output is a dot product of a kernel row and a window row. Output channel ${g.group * s.desc.outChannelsPerGroup}, window ${state.row}: ${dotText(kernel, row, g.yHat.data[state.row])}`,
            matrix(g.yHat, {
              testId: `yhat-${g.group}`,
              rowLabels: outChannelLabels(s, g.group),
              colLabels: s.windows.map((_, r) => `w${r}`),
              cellClass: (_r, c) => (c === state.row ? 'win' : ''),
            }),
          );
        }),
      ),
  },
  {
    title: 'Bias and reshape',
    render: (s) =>
      block(
        `y ${shapeText(s.y.shape)}`,
        s.b
          ? `Add bias b = [${s.b.map(fmt).join(', ')}] to each output channel's row, then reshape each row into an ${s.desc.outHeight}x${s.desc.outWidth} image.`
          : `No bias; reshape each row of Y_hat into an ${s.desc.outHeight}x${s.desc.outWidth} image.`,
        planes(s.y, { testId: 'y' }),
      ),
  },
  {
    title: 'Backward: db',
    render: (s) =>
      block(
        `db [${s.db.length}]`,
        'The upstream gradient dY has the shape of y. The bias gradient sums it over batch and positions:',
        planes(s.dy, { testId: 'dy' }),
        el(
          'ul',
          { 'data-testid': 'db' },
          ...s.groups.flatMap((g) =>
            Array.from({ length: g.dyHat.rows }, (_, r) => {
              const co = g.group * s.desc.outChannelsPerGroup + r;
              const terms = g.dyHat.data.slice(r * g.dyHat.cols, (r + 1) * g.dyHat.cols);
              return el('li', {}, `db[${co}] = ${terms.map(fmt).join(' + ')} = ${fmt(s.db[co])}`);
            }),
          ),
        ),
      ),
  },
  {
    title: 'Backward: dW = dY_hat · X_hat',
    render: (s) =>
      el(
        'div',
        {},
        ...s.groups.map((g) =>
          block(
            `dY_hat${groupTitle(s, g.group)} [${g.dyHat.rows}, ${g.dyHat.cols}] · X_hat [${g.xHat.rows}, ${g.xHat.cols}]`,
            'dY reshaped like Y_hat, times the same im2col matrix: each kernel tap collects dY times the input it touched.',
            matrix(g.dyHat, {
              testId: `dyhat-${g.group}`,
              rowLabels: outChannelLabels(s, g.group),
              colLabels: s.windows.map((_, r) => `w${r}`),
            }),
            el('p', {}, `= dW_hat [${g.dwHat.rows}, ${g.dwHat.cols}]`),
            matrix(g.dwHat, {
              testId: `dwhat-${g.group}`,
              rowLabels: outChannelLabels(s, g.group),
              colLabels: tapLabels(s.desc),
            }),
          ),
        ),
        block(
          `dW ${shapeText(s.dw.shape)}`,
          'Reshaped to the kernel shape.',
          planes(s.dw, { axes: ['co', 'ci'], testId: 'dw' }),
        ),
      ),
  },
  {
    title: 'Backward: dX by col2im',
    render: (s) =>
      el(
        'div',
        {},
        ...s.groups.map((g) =>
          block(
            `dX_hat${groupTitle(s, g.group)} = dY_hatᵀ · W_hat [${g.dxHat.rows}, ${g.dxHat.cols}]`,
            'The gradient of each im2col row. Click a row to see where it goes.',
            windowMatrix(s, g.dxHat, `dxhat-${g.group}`),
          ),
        ),
        block(
          `scatter-add into the padded shape ${shapeText(s.dxPadded.shape)}`,
          'Each row is added back onto its window; where windows overlap the contributions sum (the small number counts them).',
          paddedView(s, s.dxPadded, (n, c, h, w) => {
            const count =
              s.coverage.data[
                ((n * s.desc.inChannels + c) * s.xPadded.shape[2] + h) * s.xPadded.shape[3] + w
              ];
            return count > 1 ? `×${count}` : '';
          }),
        ),
        block(
          `dX ${shapeText(s.dxCol2im.shape)}`,
          'Strip the padding border.',
          planes(s.dxCol2im, { testId: 'dx-col2im' }),
        ),
      ),
  },
  {
    title: 'Backward: dX by transposed convolution',
    render: (s) => {
      const t = s.transposed;
      const d = s.desc;
      const inserted = (h: number, w: number) =>
        h % d.strideHeight !== 0 || w % d.strideWidth !== 0 ? 'inserted' : '';
      const [top, bottom, left, right] = t.border;
      return el(
        'div',
        {},
        block(
          `upsample dY to ${shapeText(t.upsampled.shape)}`,
          `Insert ${d.strideHeight - 1} zero row(s) and ${d.strideWidth - 1} zero column(s) between the elements of dY (stride ${d.strideHeight}x${d.strideWidth}).`,
          planes(t.upsampled, { cellClass: (_n, _c, h, w) => inserted(h, w), testId: 'upsampled' }),
        ),
        block(
          `border [top ${top}, bottom ${bottom}, left ${left}, right ${right}] → ${shapeText(t.padded.shape)}`,
          'Pad by K_eff−1−P on each side, the bottom/right also by the rows/columns floor() dropped in the forward size (a negative border crops).',
          planes(t.padded, {
            cellClass: (_n, _c, h, w) => {
              const uh = h - Math.max(top, 0);
              const uw = w - Math.max(left, 0);
              const outside =
                h < top || w < left || uh >= t.upsampled.shape[2] || uw >= t.upsampled.shape[3];
              return outside ? 'pad' : inserted(h - top, w - left);
            },
            testId: 'padded-dy',
          }),
        ),
        block(
          `kernel rotated 180°, channels swapped ${shapeText(t.flipped.shape)}`,
          'flipped[ci, co, m, q] = W[co, ci, Kh−1−m, Kw−1−q]',
          planes(t.flipped, { axes: ['ci', 'co'], testId: 'flipped' }),
        ),
        block(
          `dX ${shapeText(t.dx.shape)}`,
          'Convolve with stride 1 (same dilation), no bias.',
          planes(t.dx, { testId: 'dx-transposed' }),
        ),
      );
    },
  },
  {
    title: 'Both dX agree',
    render: (s) => {
      const diff = maxAbsDiff(s.dxCol2im.data, s.transposed.dx.data);
      return block(
        'col2im vs transposed convolution',
        `Largest difference between the two dX: ${fmt(diff)}.`,
        el(
          'p',
          { 'data-testid': 'dx-equal', class: diff === 0 ? 'good' : 'bad' },
          diff === 0 ? 'equal ✓' : `differ by ${fmt(diff)}`,
        ),
        planes(s.dxCol2im),
      );
    },
  },
];

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = a.length === b.length ? 0 : Number.POSITIVE_INFINITY;
  for (let i = 0; i < Math.min(a.length, b.length); i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// ---- update cycle --------------------------------------------------------------------

let current: {
  desc: ConvDescription;
  input: ReturnType<typeof exampleInput>;
  steps: Steps | null;
} | null = null;

function buildNav(): void {
  const nav = $('step-nav');
  STEPS.forEach((step, k) => {
    const b = el('button', { type: 'button', id: `step-tab-${k}` }, `${k + 1}. ${step.title}`);
    b.addEventListener('click', () => {
      state.step = k;
      renderSteps();
    });
    nav.append(b);
  });
  $('prev').addEventListener('click', () => {
    state.step = Math.max(0, state.step - 1);
    renderSteps();
  });
  $('next').addEventListener('click', () => {
    state.step = Math.min(STEPS.length - 1, state.step + 1);
    renderSteps();
  });
  const all = $('show-all') as HTMLInputElement;
  all.addEventListener('change', () => {
    state.showAll = all.checked;
    renderSteps();
  });
}

function renderSteps(): void {
  const root = $('steps');
  STEPS.forEach((_, k) => {
    $(`step-tab-${k}`).classList.toggle('active', k === state.step);
  });
  if (!current?.steps) {
    root.replaceChildren(
      el(
        'p',
        { class: 'note', 'data-testid': 'too-big' },
        current
          ? `Too big to draw step by step (X_hat would have ${current.desc.batch * current.desc.outHeight * current.desc.outWidth * current.desc.reductionLength * current.desc.groups} elements, the page draws up to ${MAX_DRAWN}). The backend still runs: see the summary.`
          : '',
      ),
    );
    return;
  }
  const steps = current.steps;
  const shown = state.showAll ? STEPS.map((_, k) => k) : [state.step];
  root.replaceChildren(
    ...shown.map((k) =>
      el(
        'section',
        { class: 'step', 'data-step': String(k) },
        el('h2', {}, `${k + 1}. ${STEPS[k].title}`),
        STEPS[k].render(steps),
      ),
    ),
  );
}

function update(): void {
  const error = $('error');
  error.textContent = '';
  const s = shapesOf(state.config);
  let desc: ConvDescription;
  try {
    desc = describeConv(s.x, s.w, s.b, optionsOf(state.config));
  } catch (e) {
    error.textContent = e instanceof Error ? e.message : String(e);
    current = null;
    renderSteps();
    $('result').replaceChildren();
    return;
  }
  const input = exampleInput(state.config, desc.yShape);
  const drawn = desc.batch * desc.outHeight * desc.outWidth * desc.reductionLength * desc.groups;
  current = { desc, input, steps: drawn <= MAX_DRAWN ? computeSteps(input) : null };
  state.row = Math.min(state.row, desc.batch * desc.outHeight * desc.outWidth - 1);
  $('shapes').textContent =
    `x ${shapeText(desc.xShape)} · w ${shapeText(desc.wShape)}${desc.bShape ? ` · b ${shapeText(desc.bShape)}` : ''} → y ${shapeText(desc.yShape)} · ${desc.flops.toLocaleString('en')} flops per pass`;
  renderSteps();
  void runBackend();
}

function summary(name: string, data: Float32Array): HTMLElement {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  for (const v of data) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  return el(
    'li',
    {},
    `${name}: ${data.length} values, min ${fmt(min)}, max ${fmt(max)}, sum ${fmt(sum)}`,
  );
}

async function runBackend(): Promise<void> {
  const runId = ++state.runId;
  const out = $('result');
  if (!current) return;
  const { input, steps } = current;
  const chosen = state.backends.find((b) => b.spec === state.backend);
  if (!chosen || chosen.unavailable) {
    out.replaceChildren(
      el(
        'p',
        { class: 'bad' },
        `${state.backend} is not available here${chosen?.unavailable ? `: ${chosen.unavailable}` : ''}`,
      ),
    );
    return;
  }
  out.replaceChildren(el('p', {}, `running on ${chosen.spec}…`));
  try {
    const backend = await chosen.create();
    const x = tensor(input.x.shape, input.x.data);
    const w = tensor(input.w.shape, input.w.data);
    const b = input.b ? tensor(input.b.shape, input.b.data) : null;
    const dy = tensor(input.dy.shape, input.dy.data);
    const t0 = performance.now();
    const y = await backend.forward(x, w, b, input.options);
    const t1 = performance.now();
    const g = await backend.backward(dy, x, w, input.options);
    const t2 = performance.now();
    backend.dispose();
    if (runId !== state.runId) return; // a newer run replaced this one
    const items = [
      el(
        'li',
        { 'data-testid': 'timing' },
        `${backend.name}: forward ${(t1 - t0).toFixed(2)} ms, backward (dX, dW, db) ${(t2 - t1).toFixed(2)} ms`,
      ),
      summary('y', y.data),
      summary('dx', g.dx?.data ?? new Float32Array()),
      summary('dw', g.dw?.data ?? new Float32Array()),
    ];
    if (steps) {
      const dy = maxAbsDiff(y.data, steps.y.data);
      const dx = maxAbsDiff(g.dx?.data ?? [], steps.dxCol2im.data);
      const dw = maxAbsDiff(g.dw?.data ?? [], steps.dw.data);
      items.push(
        el(
          'li',
          { 'data-testid': 'agreement', class: Math.max(dy, dx, dw) === 0 ? 'good' : 'bad' },
          `largest difference from the steps: y ${fmt(dy)}, dx ${fmt(dx)}, dw ${fmt(dw)}`,
        ),
      );
    }
    out.replaceChildren(
      el('h2', {}, 'Result'),
      el('ul', {}, ...items),
      ...(steps
        ? [
            planes(
              { shape: y.shape as Steps['y']['shape'], data: Array.from(y.data) },
              { testId: 'backend-y' },
            ),
          ]
        : []),
    );
  } catch (e) {
    if (runId === state.runId)
      out.replaceChildren(
        el(
          'p',
          { class: 'bad' },
          `${chosen.spec} failed: ${e instanceof Error ? e.message : String(e)}`,
        ),
      );
  }
}

async function main(): Promise<void> {
  buildControls();
  buildNav();
  writeControls();
  state.backends = [
    {
      spec: 'naive',
      unavailable: null,
      create: async () => (await import('@conv2d/backend-naive')).createNaiveBackend(),
    },
  ];
  fillBackendSelect();
  update();
  state.backends = await browserBackends();
  fillBackendSelect();
  document.body.dataset.ready = 'true';
}

void main();
