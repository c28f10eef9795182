#!/usr/bin/env python3
"""Writes apps/train's trajectory fixture: 50 steps of SGD with momentum on the digits, in
PyTorch float64, for the trajectory test to replay on every backend.

The net is apps/train's: conv 1->8 3x3 pad 1, ReLU, conv 8->16 3x3 stride 2 pad 1, ReLU,
conv 16->10 4x4, softmax cross-entropy (mean over the batch). The initial weights are drawn
in float32 (so every value is exact in float32) from a generator seeded by SEED; the inputs
are grey levels / 16 (exact too). The fixture holds the initial weights, the batch order,
the learning rate and momentum, the loss of each step and every weight after the last step.

It also holds the spread that float32-sized errors cause along this very trajectory (see
`perturbed_spread`): the trajectory test's tolerance is built from it.

    /usr/bin/python3 trajectory.py --data ../../apps/train/data/digits.json \
        --out ../../apps/train/fixtures/trajectory.json
"""

import argparse
import base64
import json
import math
import os

import torch
import torch.nn.functional as F

FORMAT = "conv2d-train-trajectory/1"
SEED = 1513
STEPS = 50
BATCH = 16
LR = 0.01
MOMENTUM = 0.9
PERTURBED_RUNS = 64

# (name, weight shape, conv2d keyword arguments)
LAYERS = [
    ("conv1", [8, 1, 3, 3], {"padding": 1}),
    ("conv2", [16, 8, 3, 3], {"stride": 2, "padding": 1}),
    ("conv3", [10, 16, 4, 4], {}),
]

U = 2.0 ** -24  # float32 unit roundoff
LAMBDA = 8  # as packages/conformance/src/tolerance.ts


def sum_error_factor(n):
    """tolerance.ts's bound on the relative error of a float32 sum of n products."""
    return (min(n, LAMBDA * math.sqrt(n)) + 2) * U


def step_error_factor(batch):
    """Relative error bound of one step's gradient: the passes on the path from the input to
    every gradient (each layer's forward, each layer's backward pieces), their bounds added
    (first order), plus 8u for ReLU, softmax, log and the loss's mean."""
    forward = [10, 8 * 9 + 1, 16 * 16 + 1]  # Cin*Kh*Kw (+1 bias) per layer
    dx = [16 * 9, 10 * 16]  # Cout*Kh*Kw of layers 2 and 3 (layer 1 needs no dx)
    dw = [batch * 64, batch * 16, batch]  # N*Hout*Wout per layer (db: the same lengths)
    return sum(sum_error_factor(n) for n in forward + dx + dw) + 8 * U


def load_digits(path):
    with open(path) as f:
        data = json.load(f)
    train = data["train"]
    pixels = torch.tensor(list(base64.b64decode(train["pixels"])), dtype=torch.float64)
    x = (pixels / data["maxLevel"]).reshape(train["count"], 1, data["height"], data["width"])
    y = torch.tensor([int(c) for c in train["labels"]], dtype=torch.long)
    return x, y


def initial_weights():
    """He-uniform weights (bound sqrt(6 / fan_in)) and biases uniform in [0.05, 0.15], drawn in
    float32. Positive biases keep the units fed by the blank background (exact zeros, where the
    pre-activation is the bias itself) away from ReLU's kink: fewer sign flips under rounding."""
    g = torch.Generator().manual_seed(SEED)
    params = []
    for _, shape, _ in LAYERS:
        fan_in = shape[1] * shape[2] * shape[3]
        bound = math.sqrt(6.0 / fan_in)
        w = (torch.rand(shape, generator=g, dtype=torch.float32) * 2 - 1) * bound
        b = 0.05 + torch.rand([shape[0]], generator=g, dtype=torch.float32) * 0.1
        params += [w.double(), b.double()]
    return params


def loss_of(params, x, y):
    """The mean loss, and which ReLU units are on (pre-activation > 0) in each hidden layer."""
    h = x
    on = []
    for k, (_, _, kwargs) in enumerate(LAYERS):
        h = F.conv2d(h, params[2 * k], params[2 * k + 1], **kwargs)
        if k < len(LAYERS) - 1:
            on.append((h > 0).detach())
            h = F.relu(h)
    return F.cross_entropy(h.reshape(h.shape[0], -1), y), on


def train(params, x, y, order, perturb=None, round_weights=False):
    """SGD with momentum as torch.optim.SGD (dampening 0): v = m*v + g; p -= lr*v. perturb, a
    generator: each gradient element times (1 + e*s), s = +-1 at random, e = the step's bound.
    round_weights: keep the weights in float32 after each update, as the backends do.
    Returns the losses, the final weights and the ReLU pattern (which units are on) per step."""
    params = [p.clone().requires_grad_(True) for p in params]
    velocity = [torch.zeros_like(p) for p in params]
    losses = []
    pattern = []
    e = step_error_factor(BATCH)
    for step in range(STEPS):
        idx = order[step * BATCH:(step + 1) * BATCH]
        loss, on = loss_of(params, x[idx], y[idx])
        losses.append(loss.item())
        pattern.append(on)
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, v, g in zip(params, velocity, grads):
                if perturb is not None:
                    signs = torch.randint(0, 2, g.shape, generator=perturb).double() * 2 - 1
                    g = g * (1 + e * signs)
                v.mul_(MOMENTUM).add_(g)
                p.sub_(LR * v)
                if round_weights:
                    p.copy_(p.float().double())
    return losses, [p.detach() for p in params], pattern


def first_flip(pattern, reference):
    """The first step where a ReLU unit is on in one pattern and off in the other, or None."""
    for step, (a, b) in enumerate(zip(pattern, reference)):
        if any(bool((u != v).any()) for u, v in zip(a, b)):
            return step
    return None


def perturbed_spread(params, x, y, order, losses, final, pattern):
    """The largest deviation from the float64 trajectory over the PERTURBED_RUNS runs where every
    gradient element carries a relative error of the step's float32 bound (random sign) and the
    weights are rounded to float32 after each update: what float32 arithmetic at the scale of the
    bounds the conformance suite allows does to this trajectory, amplified by its own dynamics.

    Only runs that keep the reference's ReLU pattern count. A unit whose pre-activation crosses
    zero changes its gradient by a finite amount, not by a rounding error: after such a flip a
    run leaves the trajectory (1e-3 instead of 1e-5 here) and the maximum over runs no longer
    converges (one flip run in 64 raises it 100x). The bound is the envelope of the flip-free
    runs, and the test's premise is that a backend keeps torch's ReLU pattern (the runs that
    flipped are counted in the fixture; a backend's errors are far below the bound's full size
    that these runs apply to every element)."""
    loss_spread = [0.0] * STEPS
    weight_spread = [torch.zeros_like(p) for p in final]
    flips = []
    for run in range(PERTURBED_RUNS):
        g = torch.Generator().manual_seed(SEED + 1 + run)
        l2, p2, pattern2 = train(params, x, y, order, perturb=g, round_weights=True)
        step = first_flip(pattern2, pattern)
        if step is not None:
            flips.append(step)
            continue
        loss_spread = [max(s, abs(a - b)) for s, a, b in zip(loss_spread, l2, losses)]
        weight_spread = [torch.maximum(s, (a - b).abs()) for s, a, b in zip(weight_spread, p2, final)]
    return loss_spread, weight_spread, flips


def tensor_json(t):
    return {"shape": list(t.shape), "data": t.reshape(-1).tolist()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_default_dtype(torch.float64)
    x, y = load_digits(args.data)
    g = torch.Generator().manual_seed(SEED)
    order = torch.randperm(x.shape[0], generator=g)[: STEPS * BATCH]
    params = initial_weights()
    losses, final, pattern = train(params, x, y, order)
    loss_spread, weight_spread, flips = perturbed_spread(
        params, x, y, order, losses, final, pattern)
    names = [f"{n}.{p}" for n, _, _ in LAYERS for p in ("weight", "bias")]
    fixture = {
        "format": FORMAT,
        "source": f"torch {torch.__version__} float64",
        "net": [{"name": n, "wShape": s, "options": o} for n, s, o in LAYERS],
        "steps": STEPS,
        "batch": BATCH,
        "lr": LR,
        "momentum": MOMENTUM,
        "order": order.tolist(),
        "initial": {n: tensor_json(p) for n, p in zip(names, params)},
        "losses": losses,
        "final": {n: tensor_json(p) for n, p in zip(names, final)},
        "perturbation": {
            "stepErrorFactor": step_error_factor(BATCH),
            "runs": PERTURBED_RUNS,
            "runsWithReluFlips": len(flips),
            "firstFlipSteps": sorted(set(flips)),
            "losses": loss_spread,
            "final": {n: s.reshape(-1).tolist() for n, s in zip(names, weight_spread)},
        },
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(fixture, f)
        f.write("\n")
    print(f"{args.out}: loss {losses[0]:.4f} -> {losses[-1]:.4f} in {STEPS} steps; "
          f"largest loss spread {max(loss_spread):.3e}; {len(flips)} of {PERTURBED_RUNS} perturbed runs "
          f"flipped a ReLU (first at steps {sorted(set(flips))}) and are left out")


if __name__ == "__main__":
    main()
