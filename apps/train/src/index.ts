export {
  type DigitSet,
  type Digits,
  type DigitsFile,
  gatherBatch,
  parseDigits,
} from './data.js';
export { argmaxRows, reluBackwardInPlace, reluInPlace, softmaxCrossEntropy } from './loss.js';
export {
  CLASSES,
  IMAGE_SIZE,
  initialParams,
  type LayerSpec,
  NET,
  Net,
  type NetOptions,
  type Params,
  zerosLike,
} from './net.js';
export { permutation } from './random.js';
export { MomentumSgd } from './sgd.js';
export {
  accuracy,
  confusionMatrix,
  cosineRate,
  DEFAULT_CONFIG,
  type EpochStats,
  predict,
  residentByDefault,
  type TrainConfig,
  type TrainHooks,
  type TrainResult,
  train,
} from './train.js';
