import type { View } from 'vega';

/*
 * Rendering a vega-lite spec headlessly: shared by the bench's chart and apps/train's curves
 * (`@conv2d/bench/vega-svg`), so both draw with the same library the same way.
 */

/** A vega-lite spec compiled to vega, as a headless View (no renderer: for SVG or scenegraph). */
export async function vegaLiteView(spec: Record<string, unknown>): Promise<View> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vl.compile(spec as unknown as Parameters<typeof vl.compile>[0]).spec;
  return new vega.View(vega.parse(compiled), { renderer: 'none' });
}

/** A vega-lite spec rendered to SVG with vega's headless renderer. */
export async function vegaLiteSvg(spec: Record<string, unknown>): Promise<string> {
  const view = await vegaLiteView(spec);
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
