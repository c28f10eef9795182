import type { Array4, Matrix } from './steps.js';

/* Small DOM builders for the step views: matrices and NCHW planes as tables of numbers. */

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

/** Integers as they are, anything else with 4 significant digits. */
export function fmt(v: number): string {
  if (Object.is(v, -0)) return '0';
  return Number.isInteger(v) ? String(v) : v.toPrecision(4);
}

export interface GridOptions {
  rowLabels?: string[];
  colLabels?: string[];
  /** Extra CSS classes for a cell. */
  cellClass?: (r: number, c: number) => string;
  rowClass?: (r: number) => string;
  /** Text shown small in the corner of a cell (e.g. how many windows covered it). */
  note?: (r: number, c: number) => string;
  onRowClick?: (r: number) => void;
  testId?: string;
  /** The array the cells show: each cell gets `data-cell="<array>:<flat index>"` (see explain.ts). */
  cells?: string;
  /** Flat index of cell (0, 0) in that array (a plane of a 4-D array starts further in). */
  offset?: number;
}

/** A rows x cols table of numbers. */
export function grid(
  rows: number,
  cols: number,
  value: (r: number, c: number) => number,
  o: GridOptions = {},
): HTMLTableElement {
  const table = el('table', { class: 'grid', ...(o.testId ? { 'data-testid': o.testId } : {}) });
  if (o.colLabels) {
    const head = el('tr', {}, ...(o.rowLabels ? [el('th')] : []));
    for (const l of o.colLabels) head.append(el('th', { class: 'col-label' }, l));
    table.append(head);
  }
  for (let r = 0; r < rows; r++) {
    const tr = el('tr', { class: o.rowClass?.(r) ?? '' });
    if (o.rowLabels) tr.append(el('th', { class: 'row-label' }, o.rowLabels[r] ?? ''));
    for (let c = 0; c < cols; c++) {
      const td = el('td', { class: o.cellClass?.(r, c) ?? '' }, fmt(value(r, c)));
      if (o.cells) cellAttributes(td, o.cells, (o.offset ?? 0) + r * cols + c, r === 0 && c === 0);
      const note = o.note?.(r, c);
      if (note) td.append(el('sub', {}, note));
      tr.append(td);
    }
    if (o.onRowClick) {
      const handler = o.onRowClick;
      tr.addEventListener('click', () => handler(r));
      tr.classList.add('clickable');
    }
    table.append(tr);
  }
  return table;
}

/** Marks a td as a cell of a named array: pointable, and reachable by keyboard (one tab stop per table). */
function cellAttributes(td: HTMLElement, array: string, index: number, tabStop: boolean): void {
  td.dataset.cell = `${array}:${index}`;
  td.tabIndex = tabStop ? 0 : -1;
}

export function matrix(m: Matrix, o: GridOptions = {}): HTMLTableElement {
  return grid(m.rows, m.cols, (r, c) => m.data[r * m.cols + c], o);
}

export interface PlanesOptions {
  /** Names of the first two axes, e.g. ['n', 'c'] or ['co', 'ci']. */
  axes?: [string, string];
  cellClass?: (a: number, b: number, h: number, w: number) => string;
  note?: (a: number, b: number, h: number, w: number) => string;
  testId?: string;
  /** The array the cells show (see GridOptions.cells). */
  cells?: string;
}

/** A 4-D array as one small table per [a, b] plane. */
export function planes(t: Array4, o: PlanesOptions = {}): HTMLElement {
  const [na, nb, h, w] = t.shape;
  const [an, bn] = o.axes ?? ['n', 'c'];
  const box = el('div', { class: 'planes', ...(o.testId ? { 'data-testid': o.testId } : {}) });
  for (let a = 0; a < na; a++)
    for (let b = 0; b < nb; b++) {
      const base = (a * nb + b) * h * w;
      box.append(
        el(
          'figure',
          {},
          grid(h, w, (r, c) => t.data[base + r * w + c], {
            cellClass: o.cellClass && ((r, c) => o.cellClass?.(a, b, r, c) ?? ''),
            note: o.note && ((r, c) => o.note?.(a, b, r, c) ?? ''),
            cells: o.cells,
            offset: base,
          }),
          el('figcaption', {}, `${an}=${a}, ${bn}=${b}`),
        ),
      );
    }
  return box;
}

/** A labelled block: a title, an explanation and the figures. */
export function block(title: string, text: string, ...content: Node[]): HTMLElement {
  const words = text ? [el('p', {}, text)] : [];
  return el('div', { class: 'block' }, el('h3', {}, title), ...words, ...content);
}

export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
