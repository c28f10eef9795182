import { type Params, zerosLike } from './net.js';

/**
 * SGD with momentum as torch.optim.SGD (dampening 0, no Nesterov): v = m*v + g; p -= lr*v.
 */
export class MomentumSgd {
  private readonly velocity: Params;

  constructor(
    params: Params,
    /** The learning rate of the next steps (a schedule may change it between epochs). */
    public lr: number,
    readonly momentum: number,
  ) {
    this.velocity = zerosLike(params);
  }

  /** Updates `params` in place from `grads`. */
  step(params: Params, grads: Params): void {
    const update = (p: Float32Array[], g: Float32Array[], v: Float32Array[]) => {
      for (let k = 0; k < p.length; k++) {
        for (let i = 0; i < p[k].length; i++) {
          v[k][i] = this.momentum * v[k][i] + g[k][i];
          p[k][i] -= this.lr * v[k][i];
        }
      }
    };
    update(params.w, grads.w, this.velocity.w);
    update(params.b, grads.b, this.velocity.b);
  }
}
