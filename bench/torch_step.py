#!/usr/bin/python3
"""torch_step.py -- the same SAM step as bench/sam_step.c in PyTorch (CPU):
two forward/backward passes on one batch and the update, on random data.

    bench/torch_step.py MODEL C H W K BATCH [ITERS] [sgd|sam] THREADS [nchw|cl]
prints one line: "torch MODEL batch B: X ms/step, Y samples/s".  The last
argument is the memory layout of the images and conv weights: PyTorch's
default NCHW, or channels_last (cl).
"""
import os
import sys
import time

import torch
import torch.nn as nn


def make(spec, C, H, W, K):
    """The same architectures as samc's, from the fixture script (tools/)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
    import make_torch_fixtures as arch
    if spec == "logreg":
        return nn.Linear(C * H * W, 1)
    if spec.startswith("mlp:"):
        return arch.MLP(C * H * W, [int(h) for h in spec[4:].split(",")], K)
    if spec == "cnn":
        return arch.CNN(C, H, W, K)
    if spec.startswith("resnet:"):
        return arch.ResNet(int(spec[7:]), C, K)
    if spec == "resnet18":
        return arch.ResNet18(C, K)
    if spec.startswith("wrn:"):
        depth, widen = (int(a) for a in spec[4:].split("-"))
        return arch.WideResNet(depth, widen, C, K)
    raise SystemExit("unknown model " + spec)


def main():
    spec = sys.argv[1]
    C, H, W, K, B = (int(a) for a in sys.argv[2:7])
    iters = int(sys.argv[7]) if len(sys.argv) > 7 else 20
    opt = sys.argv[8] if len(sys.argv) > 8 else "sam"
    threads = int(sys.argv[9]) if len(sys.argv) > 9 else 1
    layout = sys.argv[10] if len(sys.argv) > 10 else "nchw"
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = make(spec, C, H, W, K)
    x = torch.randn(B, C, H, W)
    if layout == "cl" and spec != "logreg" and not spec.startswith("mlp:"):
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, K, (B,))
    params = list(model.parameters())
    if spec == "logreg":   # binary logistic, labels -1/+1
        s = (2.0 * y - 1.0).float()
        lossf = lambda z, _: nn.functional.softplus(-s * z.flatten(1)[:, 0]).mean()
        flat = x.flatten(1)
        fwd = lambda: model(flat)
    else:
        lossf = nn.CrossEntropyLoss()
        fwd = lambda: model(x)
    lr, rho = 0.01, 0.05

    def step():
        loss = lossf(fwd(), y)
        grads = torch.autograd.grad(loss, params)
        if opt == "sam":
            gn = torch.sqrt(sum((g * g).sum() for g in grads))
            with torch.no_grad():
                ds = [rho * g / (gn + 1e-12) for g in grads]
                for p, d in zip(params, ds):
                    p.add_(d)
            loss2 = lossf(fwd(), y)
            grads = torch.autograd.grad(loss2, params)
            with torch.no_grad():
                for p, d in zip(params, ds):
                    p.sub_(d)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p.sub_(lr * g)

    for _ in range(3):
        step()
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    ms = (time.perf_counter() - t0) / iters * 1e3
    print(f"torch {opt} {spec} {layout} batch {B}: {ms:.3f} ms/step, {B / ms * 1e3:.1f} samples/s")


if __name__ == "__main__":
    main()
