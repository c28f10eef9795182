/*
 * The only layers written by hand: ReLU and softmax cross-entropy. Everything else is a
 * convolution through the library.
 */

/** ReLU in place. Its gradient mask is `a > 0` on the result (the same as on the input). */
export function reluInPlace(a: Float32Array): void {
  for (let i = 0; i < a.length; i++) if (!(a[i] > 0)) a[i] = 0;
}

/** dA -> dY through ReLU, in place: zero where the activation is not positive (as torch). */
export function reluBackwardInPlace(grad: Float32Array, activation: Float32Array): void {
  for (let i = 0; i < grad.length; i++) if (!(activation[i] > 0)) grad[i] = 0;
}

/**
 * Mean softmax cross-entropy of `logits` ([batch, classes]) against `labels`, in float64;
 * writes d(loss)/d(logits) into `grad` and returns the loss.
 */
export function softmaxCrossEntropy(
  logits: Float32Array,
  labels: Uint8Array,
  classes: number,
  grad: Float32Array,
): number {
  const batch = labels.length;
  let loss = 0;
  for (let n = 0; n < batch; n++) {
    const row = n * classes;
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[row + c]);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logits[row + c] - max);
    const logSum = Math.log(sum) + max;
    loss += logSum - logits[row + labels[n]];
    for (let c = 0; c < classes; c++) {
      const p = Math.exp(logits[row + c] - logSum);
      grad[row + c] = (p - (c === labels[n] ? 1 : 0)) / batch;
    }
  }
  return loss / batch;
}

/** The class with the largest logit, per row of [batch, classes]. */
export function argmaxRows(logits: Float32Array, classes: number, out: Uint8Array): void {
  for (let n = 0; n < out.length; n++) {
    let best = 0;
    for (let c = 1; c < classes; c++) {
      if (logits[n * classes + c] > logits[n * classes + best]) best = c;
    }
    out[n] = best;
  }
}
