/** The committed digits (`data/digits.json`, written by tooling/train-fixture/digits.py). */
export interface DigitsFile {
  format: 'conv2d-digits/1';
  height: number;
  width: number;
  maxLevel: number;
  train: DigitsPartFile;
  test: DigitsPartFile;
}

interface DigitsPartFile {
  count: number;
  /** One byte per pixel (0..maxLevel), base64. */
  pixels: string;
  /** One character per image, '0'..'9'. */
  labels: string;
}

/** Images as a network input: [count, 1, height, width], pixels scaled to [0, 1]. */
export interface DigitSet {
  count: number;
  height: number;
  width: number;
  /** count * height * width values, image after image. */
  images: Float32Array;
  labels: Uint8Array;
}

export interface Digits {
  train: DigitSet;
  test: DigitSet;
}

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text); // Node 20 and browsers both have atob
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < bytes.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function parsePart(file: DigitsFile, part: DigitsPartFile, name: string): DigitSet {
  const pixels = decodeBase64(part.pixels);
  const size = file.height * file.width;
  if (pixels.length !== part.count * size || part.labels.length !== part.count) {
    throw new Error(
      `digits ${name}: ${pixels.length} pixels and ${part.labels.length} labels, expected ${part.count * size} and ${part.count}`,
    );
  }
  // level / maxLevel: k/16 is exact in float32, as in the PyTorch fixture
  const images = Float32Array.from(pixels, (v) => v / file.maxLevel);
  const labels = Uint8Array.from(part.labels, (c) => c.charCodeAt(0) - 48);
  if (labels.some((l) => l > 9)) throw new Error(`digits ${name}: a label outside 0-9`);
  return { count: part.count, height: file.height, width: file.width, images, labels };
}

/** Decodes the committed digits file (already parsed from JSON). */
export function parseDigits(file: DigitsFile): Digits {
  if (file.format !== 'conv2d-digits/1') {
    throw new Error(`digits: format ${JSON.stringify(file.format)}, expected "conv2d-digits/1"`);
  }
  return { train: parsePart(file, file.train, 'train'), test: parsePart(file, file.test, 'test') };
}

/** Copies the images at `indices` into `x` and their labels into `labels` (one batch). */
export function gatherBatch(
  set: DigitSet,
  indices: ArrayLike<number>,
  x: Float32Array,
  labels: Uint8Array,
): void {
  const size = set.height * set.width;
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    x.set(set.images.subarray(i * size, (i + 1) * size), k * size);
    labels[k] = set.labels[i];
  }
}
