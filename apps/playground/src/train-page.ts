import {
  DEFAULT_CONFIG,
  type DigitSet,
  type Digits,
  type DigitsFile,
  type EpochStats,
  parseDigits,
  residentByDefault,
  train,
} from '@conv2d/train';
import digitsFile from '@conv2d/train/data/digits.json';
import { type BrowserBackend, browserBackends } from './backends.js';

/*
 * The Train page: apps/train's net and loop (the same code `pnpm train` runs in Node) on a
 * backend of this browser, drawing the loss as it trains and the test digits with their
 * predictions after each epoch. The browser test reads the data-* attributes.
 */

/** Test digits drawn in the grid. */
const SHOWN = 48;
/** Steps between two redraws (each redraw also lets the browser paint). */
const REDRAW_EVERY = 5;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const SVG_NS = 'http://www.w3.org/2000/svg';

const digits: Digits = parseDigits(digitsFile as DigitsFile);
let backends: BrowserBackend[] = [];
let stopRequested = false;

function setStatus(text: string, state: string): void {
  const status = $('train-status');
  status.textContent = text;
  status.dataset.state = state;
}

/** A frame for the browser to paint (training itself never yields: its awaits are microtasks). */
const nextFrame = () => new Promise((resolve) => setTimeout(resolve, 0));

// ---- the loss curve -----------------------------------------------------------------------

function polyline(points: string, color: string, width: number): SVGPolylineElement {
  const line = document.createElementNS(SVG_NS, 'polyline');
  line.setAttribute('points', points);
  line.setAttribute('fill', 'none');
  line.setAttribute('stroke', color);
  line.setAttribute('stroke-width', String(width));
  return line;
}

/** Every step's loss (light) and a running mean over 20 steps, on a shared linear scale. */
function drawLoss(losses: number[], totalSteps: number): void {
  const svg = $('train-loss') as unknown as SVGSVGElement;
  const width = 420;
  const height = 220;
  const pad = 28;
  const top = Math.max(2.5, ...losses);
  const x = (i: number) => pad + ((width - 2 * pad) * i) / Math.max(1, totalSteps - 1);
  const y = (v: number) => height - pad - ((height - 2 * pad) * Math.min(v, top)) / top;
  const mean = losses.map((_, i) => {
    const window = losses.slice(Math.max(0, i - 19), i + 1);
    return window.reduce((a, b) => a + b, 0) / window.length;
  });
  const points = (values: number[]) => values.map((v, i) => `${x(i)},${y(v)}`).join(' ');
  svg.replaceChildren(
    polyline(`${pad},${height - pad} ${width - pad},${height - pad}`, '#889', 1),
    polyline(`${pad},${pad} ${pad},${height - pad}`, '#889', 1),
    polyline(points(losses), '#9ec5fe', 1),
    polyline(points(mean), '#1f6feb', 2),
  );
  for (const [text, tx, ty] of [
    [top.toFixed(1), 2, pad + 4],
    ['0', 14, height - pad + 4],
    ['steps', width - pad - 30, height - 8],
  ] as const) {
    const label = document.createElementNS(SVG_NS, 'text');
    label.setAttribute('x', String(tx));
    label.setAttribute('y', String(ty));
    label.setAttribute('font-size', '11');
    label.textContent = text;
    svg.append(label);
  }
  svg.dataset.steps = String(losses.length);
}

// ---- epochs and digits ----------------------------------------------------------------------

function addEpochRow(s: EpochStats): void {
  const row = document.createElement('tr');
  for (const v of [
    String(s.epoch),
    s.loss.toFixed(4),
    s.trainAccuracy.toFixed(3),
    s.testAccuracy.toFixed(3),
    String(Math.round(s.imagesPerSecond)),
  ]) {
    const cell = document.createElement('td');
    cell.textContent = v;
    row.append(cell);
  }
  $('train-epochs-table').querySelector('tbody')?.append(row);
}

function digitCanvas(set: DigitSet, index: number): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = set.width;
  canvas.height = set.height;
  const context = canvas.getContext('2d');
  if (!context) return canvas;
  const image = context.createImageData(set.width, set.height);
  const size = set.width * set.height;
  for (let p = 0; p < size; p++) {
    const v = 255 - Math.round(set.images[index * size + p] * 255); // dark ink on white
    image.data.set([v, v, v, 255], p * 4);
  }
  context.putImageData(image, 0, 0);
  return canvas;
}

/** The first test digits, each captioned with the prediction (or "?" before any). */
function drawDigits(predictions: Uint8Array | null): void {
  const set = digits.test;
  const cells = Array.from({ length: Math.min(SHOWN, set.count) }, (_, i) => {
    const cell = document.createElement('div');
    const label = document.createElement('span');
    if (predictions) {
      const right = predictions[i] === set.labels[i];
      cell.className = `digit ${right ? 'right' : 'wrong'}`;
      label.textContent = right ? `${predictions[i]}` : `${predictions[i]} (is ${set.labels[i]})`;
    } else {
      cell.className = 'digit';
      label.textContent = '?';
    }
    cell.append(digitCanvas(set, i), label);
    return cell;
  });
  $('train-digits').replaceChildren(...cells);
}

// ---- training -----------------------------------------------------------------------------

async function run(): Promise<void> {
  const spec = $<HTMLSelectElement>('train-backend').value;
  const epochs = Math.max(1, Math.min(30, Number($<HTMLInputElement>('train-epochs').value) || 1));
  const choice = backends.find((b) => b.spec === spec);
  if (!choice) return;
  $<HTMLButtonElement>('train-start').disabled = true;
  $<HTMLButtonElement>('train-stop').disabled = false;
  $('train-error').textContent = '';
  $('train-epochs-table').querySelector('tbody')?.replaceChildren();
  stopRequested = false;
  const losses: number[] = [];
  const config = { ...DEFAULT_CONFIG, epochs };
  const totalSteps = epochs * Math.floor(digits.train.count / config.batch);
  setStatus(`training on ${spec}…`, 'training');
  const backend = await choice.create();
  try {
    const result = await train(
      backend,
      digits,
      config,
      {
        stopped: () => stopRequested,
        onStep: async (p) => {
          losses.push(p.loss);
          if (p.step % REDRAW_EVERY === 0 || p.step === p.steps) {
            drawLoss(losses, totalSteps);
            setStatus(
              `training on ${spec}: epoch ${p.epoch}, step ${p.step}/${p.steps}`,
              'training',
            );
            await nextFrame();
          }
        },
        onEpoch: async (s, predictions) => {
          addEpochRow(s);
          drawDigits(predictions);
          await nextFrame();
        },
      },
      { resident: residentByDefault(backend.name) },
    );
    drawLoss(losses, totalSteps);
    const last = result.history.at(-1);
    const accuracy = last ? last.testAccuracy : 0;
    const status = $('train-status');
    status.dataset.testAccuracy = accuracy.toFixed(4);
    status.dataset.backend = backend.name;
    setStatus(
      `${stopRequested ? 'stopped' : 'done'} on ${backend.name}: test accuracy ${accuracy.toFixed(3)}`,
      'done',
    );
  } catch (e) {
    $('train-error').textContent = e instanceof Error ? e.message : String(e);
    setStatus(`failed on ${spec}`, 'failed');
  } finally {
    backend.dispose();
    $<HTMLButtonElement>('train-start').disabled = false;
    $<HTMLButtonElement>('train-stop').disabled = true;
  }
}

async function start(): Promise<void> {
  drawLoss([], 1);
  drawDigits(null);
  backends = await browserBackends();
  const select = $<HTMLSelectElement>('train-backend');
  select.replaceChildren(
    ...backends.map((b) => {
      const option = document.createElement('option');
      option.value = b.spec;
      // the reason as a tooltip: a long one would stretch the select across the page
      option.textContent = b.unavailable ? `${b.spec} (unavailable)` : b.spec;
      if (b.unavailable) option.title = b.unavailable;
      option.disabled = b.unavailable !== null;
      return option;
    }),
  );
  select.value = 'naive';
  $('train-start').addEventListener('click', () => void run());
  $('train-stop').addEventListener('click', () => {
    stopRequested = true;
  });
  setStatus(
    `${digits.train.count} training and ${digits.test.count} test images; batch ${DEFAULT_CONFIG.batch}, SGD lr ${DEFAULT_CONFIG.lr} (cosine) momentum ${DEFAULT_CONFIG.momentum}`,
    'idle',
  );
  document.body.dataset.ready = 'true';
}

void start();
