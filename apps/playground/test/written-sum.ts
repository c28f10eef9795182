const FACTOR = String.raw`(?:\(-[\d.]+(?:e[+-]?\d+)?\)|[\d.]+(?:e[+-]?\d+)?)`;
const PRODUCT = new RegExp(`${FACTOR}(?:·${FACTOR})*`, 'g');

/**
 * Evaluates the numbers side of a written-out sum, `… = (-3) + (2·1 + (-1)·3 + 17 zero
 * products) = -9` (the text between the last two ` = `, a trailing `(note)` dropped): returns
 * its products, their sum and the value after the last ` = `, so that a test checks the text
 * adds up rather than its look. A copy (`x̂[3,0] = x[0,0,1,1] = -2`) has no numbers side: its
 * one product is the value.
 */
export function evaluateWrittenOut(text: string): {
  products: number[][];
  sum: number;
  value: number;
} {
  const sides = text.replace(/ \([a-z][^()]*\)$/, '').split(' = ');
  const value = Number(sides.at(-1));
  if (sides.length < 4) return { products: [[value]], sum: value, value };
  const numbers = (sides.at(-2) ?? '').replace(/\d+ zero (products|terms)/g, '');
  const products = [...numbers.matchAll(PRODUCT)].map((m) =>
    m[0].split('·').map((f) => Number(f.replace(/[()]/g, ''))),
  );
  const sum = products.reduce((acc, fs) => acc + fs.reduce((a, f) => a * f, 1), 0);
  return { products, sum, value };
}
