import type { ConvDescription } from '@conv2d/core';
import { player } from './explain.js';
import { col2imFrames, forwardFrames, type HatName, transposedFrames } from './provenance.js';
import { block, el, fmt, grid, matrix, planes, shapeText } from './render.js';
import { type GroupSteps, type Steps, tapOf } from './steps.js';

/* The ten step views: what each step shows of the computed Steps, and the words around it. */

/** What the views need from the page: the selected X_hat row and a way to select another. */
export interface ViewContext {
  readonly row: number;
  selectRow(r: number): void;
}

export interface StepView {
  title: string;
  render(s: Steps, ctx: ViewContext): HTMLElement;
}

function isPadding(d: ConvDescription, h: number, w: number): boolean {
  return h < d.padTop || h >= d.padTop + d.inHeight || w < d.padLeft || w >= d.padLeft + d.inWidth;
}

/** Cells of the padded input that the selected window reads. */
function inWindow(s: Steps, row: number, n: number, h: number, w: number): boolean {
  const win = s.windows[row];
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
  ctx: ViewContext,
  values = s.xPadded,
  note?: (n: number, c: number, h: number, w: number) => string,
) {
  const gradient = values === s.dxPadded;
  return planes(values, {
    testId: gradient ? 'dx-padded' : 'padded',
    cells: gradient ? 'dxPadded' : 'xPadded',
    cellClass: (n, _c, h, w) =>
      [isPadding(s.desc, h, w) ? 'pad' : '', inWindow(s, ctx.row, n, h, w) ? 'win' : ''].join(' '),
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

function windowMatrix(
  s: Steps,
  ctx: ViewContext,
  m: Steps['groups'][number]['xHat'],
  testId: string,
  cells: string,
) {
  return matrix(m, {
    testId,
    cells,
    rowLabels: s.windows.map((_, r) => windowLabel(s, r)),
    colLabels: tapLabels(s.desc),
    rowClass: (r) => (r === ctx.row ? 'selected' : ''),
    onRowClick: (r) => ctx.selectRow(r),
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

/** One group's matrix, labelled: rows are windows (X_hat, dX_hat) or output channels. */
function groupMatrix(s: Steps, ctx: ViewContext, g: GroupSteps, name: HatName): HTMLTableElement {
  const testId = `${name.toLowerCase()}-${g.group}`;
  const cells = `${name}.${g.group}`;
  if (name === 'xHat' || name === 'dxHat') return windowMatrix(s, ctx, g[name], testId, cells);
  const byTap = name === 'wHat' || name === 'dwHat';
  return matrix(g[name], {
    testId,
    cells,
    rowLabels: outChannelLabels(s, g.group),
    colLabels: byTap ? tapLabels(s.desc) : s.windows.map((_, r) => `w${r}`),
    cellClass: name === 'yHat' ? (_r, c) => (c === ctx.row ? 'win' : '') : undefined,
  });
}

/** The named matrix of every group, each in a block of its own. */
function groupBlocks(
  s: Steps,
  ctx: ViewContext,
  name: HatName,
  title: string,
  text: string,
): HTMLElement[] {
  return s.groups.map((g) =>
    block(
      `${title}${groupTitle(s, g.group)} [${g[name].rows}, ${g[name].cols}]`,
      text,
      groupMatrix(s, ctx, g, name),
    ),
  );
}

export const STEPS: StepView[] = [
  {
    title: 'Pad the input',
    render: (s, ctx) =>
      block(
        `x ${shapeText(s.x.shape)} → padded ${shapeText(s.xPadded.shape)}`,
        `Padding [top ${s.desc.padTop}, bottom ${s.desc.padBottom}, left ${s.desc.padLeft}, right ${s.desc.padRight}] adds a border of zeros (grey). The highlighted cells are the window of X_hat row ${ctx.row}.`,
        planes(s.x, { testId: 'x', cells: 'x' }),
        paddedView(s, ctx),
      ),
  },
  {
    title: 'im2col: X_hat',
    render: (s, ctx) =>
      el(
        'div',
        {},
        ...groupBlocks(
          s,
          ctx,
          'xHat',
          'X_hat',
          `One row per output position: the ${s.desc.kernelHeight}x${s.desc.kernelWidth} window (stride ${s.desc.strideHeight}x${s.desc.strideWidth}, dilation ${s.desc.dilationHeight}x${s.desc.dilationWidth}) of each input channel, stretched into a row. Columns are (channel, kernel row, kernel column). Click a row to see its window.`,
        ),
        paddedView(s, ctx),
        planes(s.x, { cells: 'x' }),
      ),
  },
  {
    title: 'Kernels: W_hat',
    render: (s, ctx) =>
      el(
        'div',
        {},
        block(
          `W ${shapeText(s.w.shape)}`,
          'Each output channel has one kernel.',
          planes(s.w, { axes: ['co', 'ci'], testId: 'w', cells: 'w' }),
        ),
        ...groupBlocks(
          s,
          ctx,
          'wHat',
          'W_hat',
          'Each kernel flattened in the same (channel, row, column) order as the columns of X_hat.',
        ),
      ),
  },
  {
    title: 'Y_hat = W_hat · X_hatᵀ',
    render: (s, ctx) =>
      el(
        'div',
        {},
        ...s.groups.map((g) => {
          const k = g.wHat.cols;
          const row = g.xHat.data.slice(ctx.row * k, (ctx.row + 1) * k);
          const kernel = g.wHat.data.slice(0, k);
          return block(
            `Y_hat${groupTitle(s, g.group)} [${g.yHat.rows}, ${g.yHat.cols}]`,
            `Every output is a dot product of a kernel row and a window row. Output channel ${g.group * s.desc.outChannelsPerGroup}, window ${ctx.row}: ${dotText(kernel, row, g.yHat.data[ctx.row])}`,
            groupMatrix(s, ctx, g, 'yHat'),
          );
        }),
        player(
          'player-forward',
          'the window over the padded input, one output at a time',
          forwardFrames(s),
        ),
        paddedView(s, ctx),
        ...groupBlocks(s, ctx, 'wHat', 'W_hat', ''),
        ...groupBlocks(s, ctx, 'xHat', 'X_hat', ''),
      ),
  },
  {
    title: 'Bias and reshape',
    render: (s, ctx) =>
      el(
        'div',
        {},
        block(
          `y ${shapeText(s.y.shape)}`,
          s.b
            ? `Add bias b = [${s.b.map(fmt).join(', ')}] to each output channel's row, then reshape each row into an ${s.desc.outHeight}x${s.desc.outWidth} image.`
            : `No bias; reshape each row of Y_hat into an ${s.desc.outHeight}x${s.desc.outWidth} image.`,
          planes(s.y, { testId: 'y', cells: 'y' }),
        ),
        ...(s.b
          ? [
              block(
                'b',
                '',
                grid(1, s.b.length, (_r, c) => s.b?.[c] ?? 0, { cells: 'b' }),
              ),
            ]
          : []),
        ...groupBlocks(s, ctx, 'yHat', 'Y_hat', ''),
      ),
  },
  {
    title: 'Backward: db',
    render: (s) =>
      block(
        `db [${s.db.length}]`,
        'The upstream gradient dY has the shape of y. The bias gradient sums it over batch and positions:',
        planes(s.dy, { testId: 'dy', cells: 'dy' }),
        el(
          'ul',
          { 'data-testid': 'db' },
          ...s.groups.flatMap((g) =>
            Array.from({ length: g.dyHat.rows }, (_, r) => {
              const co = g.group * s.desc.outChannelsPerGroup + r;
              const terms = g.dyHat.data.slice(r * g.dyHat.cols, (r + 1) * g.dyHat.cols);
              return el(
                'li',
                { 'data-cell': `db:${co}`, tabindex: co === 0 ? '0' : '-1' },
                `db[${co}] = ${terms.map(fmt).join(' + ')} = ${fmt(s.db[co])}`,
              );
            }),
          ),
        ),
      ),
  },
  {
    title: 'Backward: dW = dY_hat · X_hat',
    render: (s, ctx) =>
      el(
        'div',
        {},
        ...s.groups.map((g) =>
          block(
            `dY_hat${groupTitle(s, g.group)} [${g.dyHat.rows}, ${g.dyHat.cols}] · X_hat [${g.xHat.rows}, ${g.xHat.cols}]`,
            'dY reshaped like Y_hat, times the same im2col matrix: each kernel tap collects dY times the input it touched.',
            groupMatrix(s, ctx, g, 'dyHat'),
            el('p', {}, '·'),
            groupMatrix(s, ctx, g, 'xHat'),
            el('p', {}, `= dW_hat [${g.dwHat.rows}, ${g.dwHat.cols}]`),
            groupMatrix(s, ctx, g, 'dwHat'),
          ),
        ),
        block(
          `dW ${shapeText(s.dw.shape)}`,
          'Reshaped to the kernel shape.',
          planes(s.dw, { axes: ['co', 'ci'], testId: 'dw', cells: 'dw' }),
        ),
        planes(s.dy, { cells: 'dy' }),
      ),
  },
  {
    title: 'Backward: dX by col2im',
    render: (s, ctx) =>
      el(
        'div',
        {},
        ...s.groups.map((g) =>
          block(
            `dX_hat${groupTitle(s, g.group)} = dY_hatᵀ · W_hat [${g.dxHat.rows}, ${g.dxHat.cols}]`,
            'The gradient of each im2col row. Click a row to see where it goes.',
            groupMatrix(s, ctx, g, 'dxHat'),
          ),
        ),
        block(
          `scatter-add into the padded shape ${shapeText(s.dxPadded.shape)}`,
          'Each row is added back onto its window; where windows overlap the contributions sum (the small number counts them).',
          player(
            'player-col2im',
            'each window’s dX_hat row added onto the padded gradient',
            col2imFrames(s),
          ),
          paddedView(s, ctx, s.dxPadded, (n, c, h, w) => {
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
          planes(s.dxCol2im, { testId: 'dx-col2im', cells: 'dxCol2im' }),
        ),
        ...groupBlocks(s, ctx, 'dyHat', 'dY_hat', ''),
        ...groupBlocks(s, ctx, 'wHat', 'W_hat', ''),
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
          planes(s.dy, { cells: 'dy' }),
          planes(t.upsampled, {
            cellClass: (_n, _c, h, w) => inserted(h, w),
            testId: 'upsampled',
            cells: 'upsampled',
          }),
        ),
        block(
          `border [top ${top}, bottom ${bottom}, left ${left}, right ${right}] → ${shapeText(t.padded.shape)}`,
          'Pad by K_eff−1−P on each side, the bottom/right also by the rows/columns floor() dropped in the forward size (a negative border crops).',
          player(
            'player-transposed',
            'the window over the upsampled, padded dY, one dX at a time',
            transposedFrames(s),
          ),
          planes(t.padded, {
            cellClass: (_n, _c, h, w) => {
              const uh = h - Math.max(top, 0);
              const uw = w - Math.max(left, 0);
              const outside =
                h < top || w < left || uh >= t.upsampled.shape[2] || uw >= t.upsampled.shape[3];
              return outside ? 'pad' : inserted(h - top, w - left);
            },
            testId: 'padded-dy',
            cells: 'paddedDy',
          }),
        ),
        block(
          `dX ${shapeText(t.dx.shape)}`,
          'Convolve the padded dY with stride 1 (same dilation) and the kernel below, no bias.',
          planes(t.dx, { testId: 'dx-transposed', cells: 'dxTransposed' }),
        ),
        block(
          `kernel rotated 180°, channels swapped ${shapeText(t.flipped.shape)}`,
          'flipped[ci, co, m, q] = W[co, ci, Kh−1−m, Kw−1−q]',
          planes(t.flipped, { axes: ['ci', 'co'], testId: 'flipped', cells: 'flipped' }),
          planes(s.w, { axes: ['co', 'ci'], cells: 'w' }),
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
        planes(s.dxCol2im, { cells: 'dxCol2im' }),
        planes(s.transposed.dx, { cells: 'dxTransposed' }),
      );
    },
  },
];

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = a.length === b.length ? 0 : Number.POSITIVE_INFINITY;
  for (let i = 0; i < Math.min(a.length, b.length); i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
