#!/usr/bin/python3
"""torch_step.py -- the same SAM step as bench/sam_step.c in PyTorch (CPU):
two forward/backward passes on one batch and the update, on random data.

    bench/torch_step.py MODEL C H W K BATCH [ITERS] [sgd|sam] THREADS
prints one line: "torch MODEL batch B: X ms/step, Y samples/s".
"""
import sys
import time

import torch
import torch.nn as nn


def make(spec, C, H, W, K):
    if spec.startswith("mlp:"):
        hs = [int(h) for h in spec[4:].split(",")]
        layers, d = [nn.Flatten()], C * H * W
        for h in hs:
            layers += [nn.Linear(d, h), nn.ReLU()]
            d = h
        layers.append(nn.Linear(d, K))
        return nn.Sequential(*layers)
    if spec == "cnn":
        return nn.Sequential(
            nn.Conv2d(C, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * (H // 4) * (W // 4), 128), nn.ReLU(), nn.Linear(128, K))
    raise SystemExit("unknown model " + spec)


def main():
    spec = sys.argv[1]
    C, H, W, K, B = (int(a) for a in sys.argv[2:7])
    iters = int(sys.argv[7]) if len(sys.argv) > 7 else 20
    opt = sys.argv[8] if len(sys.argv) > 8 else "sam"
    threads = int(sys.argv[9]) if len(sys.argv) > 9 else 1
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = make(spec, C, H, W, K)
    x = torch.randn(B, C, H, W)
    y = torch.randint(0, K, (B,))
    params = list(model.parameters())
    lossf = nn.CrossEntropyLoss()
    lr, rho = 0.01, 0.05

    def step():
        loss = lossf(model(x), y)
        grads = torch.autograd.grad(loss, params)
        if opt == "sam":
            gn = torch.sqrt(sum((g * g).sum() for g in grads))
            with torch.no_grad():
                ds = [rho * g / (gn + 1e-12) for g in grads]
                for p, d in zip(params, ds):
                    p.add_(d)
            loss2 = lossf(model(x), y)
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
    print(f"torch {opt} {spec} batch {B}: {ms:.3f} ms/step, {B / ms * 1e3:.1f} samples/s")


if __name__ == "__main__":
    main()
