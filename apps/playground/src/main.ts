import { type ConvDescription, describeConv, tensor } from '@conv2d/core';
import { type BrowserBackend, browserBackends } from './backends.js';
import { type ExampleConfig, exampleInput, optionsOf, SEED_CONFIG, shapesOf } from './example.js';
import { attachExplainer, explainSteps, pointAtKey } from './explain.js';
import { el, fmt, planes, shapeText } from './render.js';
import { computeSteps, type Steps } from './steps.js';
import { fromQuery, toQuery, type ViewState } from './url-state.js';
import { maxAbsDiff, STEPS } from './views.js';

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
  cell: null as string | null,
};

/** The state a link carries (see url-state.ts): what the page opens on without one. */
const DEFAULT_VIEW: ViewState = {
  config: SEED_CONFIG,
  step: state.step,
  showAll: state.showAll,
  backend: state.backend,
  cell: null,
};

function saveToUrl(): void {
  const query = toQuery(state, DEFAULT_VIEW);
  history.replaceState(null, '', query ? `?${query}` : location.pathname);
}

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
    saveToUrl();
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

/** Selects an X_hat row: its window is highlighted in every view. */
function selectRow(r: number): void {
  state.row = r;
  renderSteps();
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
  saveToUrl();
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
    explainSteps(null);
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
        STEPS[k].render(steps, { row: state.row, selectRow }),
      ),
    ),
  );
  explainSteps(steps);
  if (state.cell) pointAtKey(state.cell);
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
  Object.assign(state, fromQuery(location.search, DEFAULT_VIEW, STEPS.length));
  buildControls();
  buildNav();
  writeControls();
  ($('show-all') as HTMLInputElement).checked = state.showAll;
  const explanation = el('div', { id: 'explain', role: 'status', 'aria-live': 'polite' });
  document.body.append(explanation);
  attachExplainer($('steps'), explanation, (key) => {
    state.cell = key;
    saveToUrl();
  });
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
  if (state.backend !== 'naive') void runBackend(); // a link chose an engine that just loaded
  document.body.dataset.ready = 'true';
}

void main();
