import { cellKey, type Frame, type Frames, frameOf, parseCellKey } from './provenance.js';
import { el } from './render.js';
import type { Steps } from './steps.js';

/*
 * The page side of provenance: pointing at a drawn number (mouse or keyboard focus) marks it
 * (`origin`), lights every cell it comes from (`lit`) and writes its sum in the explanation
 * bar; a player steps the same kind of highlight through an animation. Everything is looked
 * up by the cells' `data-cell` keys, so no view needs code of its own for it.
 */

const FRAME_MS = 700;
const HINT =
  'Point at any number, or Tab to a table and move with the arrow keys: the numbers it comes from light up and its sum is written out here.';

let steps: Steps | null = null;
let root: HTMLElement;
let bar: HTMLElement;
/** Drawn elements by cell key, built on first use after each render. */
let drawn: Map<string, HTMLElement[]> | null = null;
let playing: { timer: ReturnType<typeof setInterval>; stopped: () => void } | null = null;

/**
 * Listens on `container` (the steps) and writes into `explanation` (a live region); `pinned`
 * hears of a cell clicked or focused (null: Escape), for the page's link.
 */
export function attachExplainer(
  container: HTMLElement,
  explanation: HTMLElement,
  pinned: (key: string | null) => void,
): void {
  root = container;
  bar = explanation;
  bar.textContent = HINT;
  // mousemove, not mouseover: Chrome sends mouseover to a resting pointer when the layout moves
  // under it (an engine's result drawn above), which would steal a playing animation's frame.
  root.addEventListener('mousemove', (e) => pointAt(e.target));
  const pin = (e: Event) => {
    pointAt(e.target);
    const key = e.target instanceof Element ? e.target.closest<HTMLElement>('[data-cell]') : null;
    if (key?.dataset.cell) pinned(key.dataset.cell);
  };
  root.addEventListener('focusin', pin);
  root.addEventListener('click', pin);
  root.addEventListener('keydown', moveFocus);
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    clear();
    pinned(null);
  });
}

/** The steps now drawn (null: none); stops any animation of the previous ones. */
export function explainSteps(s: Steps | null): void {
  steps = s;
  drawn = null;
  stopPlaying();
  clear();
}

function clear(): void {
  for (const e of root?.querySelectorAll('.lit, .origin') ?? [])
    e.classList.remove('lit', 'origin');
  if (bar) bar.textContent = HINT;
}

function pointAt(target: EventTarget | null): void {
  const cell = target instanceof Element ? target.closest<HTMLElement>('[data-cell]') : null;
  if (!cell?.dataset.cell || !steps || cell.classList.contains('origin')) return;
  stopPlaying();
  show(frameOf(steps, parseCellKey(cell.dataset.cell)));
}

/** Explains the cell with this key if it is drawn (a link's pinned cell). */
export function pointAtKey(key: string): void {
  const [cell] = elementsOf(key);
  if (cell) pointAt(cell);
}

function elementsOf(key: string): HTMLElement[] {
  if (!drawn) {
    drawn = new Map();
    for (const e of root.querySelectorAll<HTMLElement>('[data-cell]')) {
      const k = e.dataset.cell ?? '';
      drawn.set(k, [...(drawn.get(k) ?? []), e]);
    }
  }
  return drawn.get(key) ?? [];
}

function mark(frame: Frame): void {
  const cls = (key: string, name: string) => {
    for (const e of elementsOf(key)) e.classList.add(name);
  };
  for (const c of frame.lit) cls(cellKey(c), 'lit');
  for (const c of frame.origin) cls(cellKey(c), 'origin');
}

export function show(frame: Frame): void {
  clear();
  mark(frame);
  bar.textContent = frame.text;
}

/** Arrow keys move between the cells of one table (a roving tab stop: Tab reaches each table once). */
function moveFocus(e: KeyboardEvent): void {
  const from = e.target instanceof HTMLElement ? e.target : null;
  if (!from?.dataset.cell) return;
  if (from.tagName === 'LI') {
    const next = { ArrowUp: from.previousElementSibling, ArrowDown: from.nextElementSibling }[
      e.key
    ];
    moveTo(e, from, next);
    return;
  }
  const row = from.parentElement as HTMLTableRowElement;
  const cells = (tr: Element | null) => (tr ? [...tr.querySelectorAll(':scope > td')] : []);
  const col = cells(row).indexOf(from);
  const rows = [...(row.parentElement?.children ?? [])].filter((tr) => cells(tr).length > 0);
  const r = rows.indexOf(row);
  const to = {
    ArrowLeft: cells(row)[col - 1],
    ArrowRight: cells(row)[col + 1],
    ArrowUp: cells(rows[r - 1] ?? null)[col],
    ArrowDown: cells(rows[r + 1] ?? null)[col],
  }[e.key];
  moveTo(e, from, to);
}

function moveTo(e: KeyboardEvent, from: HTMLElement, to: Element | null | undefined): void {
  if (!(to instanceof HTMLElement)) return;
  e.preventDefault();
  from.tabIndex = -1;
  to.tabIndex = 0;
  to.focus();
}

function stopPlaying(): void {
  if (!playing) return;
  clearInterval(playing.timer);
  playing.stopped();
  playing = null;
}

/** Play / step controls over `frames` (the window moving, one output at a time). */
export function player(testId: string, what: string, frames: Frames): HTMLElement {
  let k = -1;
  const counter = el('span', { class: 'counter' }, `0 / ${frames.length}`);
  const go = (next: number) => {
    k = Math.max(0, Math.min(frames.length - 1, next));
    show(frames.at(k));
    counter.textContent = `${k + 1} / ${frames.length}`;
  };
  const button = (label: string, title: string, onClick: () => void) => {
    const b = el('button', { type: 'button', title, 'aria-label': title }, label);
    b.addEventListener('click', onClick);
    return b;
  };
  const play = button('▶ play', `play: ${what}`, () => {
    if (playing?.stopped === showPaused) return stopPlaying();
    stopPlaying();
    go(k >= frames.length - 1 ? 0 : k + 1);
    play.textContent = '‖ pause';
    const timer = setInterval(() => {
      if (!box.isConnected || k >= frames.length - 1) stopPlaying();
      else go(k + 1);
    }, FRAME_MS);
    playing = { timer, stopped: showPaused };
  });
  const showPaused = () => {
    play.textContent = '▶ play';
  };
  const step = (by: number) => () => {
    stopPlaying();
    go(k + by);
  };
  const box = el(
    'div',
    { class: 'player', 'data-testid': testId, role: 'group', 'aria-label': `animation: ${what}` },
    button('|◀', 'first frame', () => {
      stopPlaying();
      go(0);
    }),
    button('◀', 'previous frame', step(-1)),
    play,
    button('▶|', 'next frame', step(1)),
    counter,
    el('span', { class: 'what' }, what),
  );
  return box;
}
