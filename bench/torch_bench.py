"""torch_bench.py - the PyTorch equivalents of bench.c's cases 1-3, one thread.

Prints `steps_per_s X` (training steps per second of process CPU time, as bench.c counts
them) and `wall_steps_per_s Y`. Run by bench.c with OPENBLAS_NUM_THREADS=1; also sets
torch.set_num_threads(1).
  case 1: PyTorch-GAN implementations/gan/gan.py, batch 64: a G step, then a D step on the
          same (detached) fakes; Adam 2e-4 (0.5, 0.999); BCE; D loss (real + fake) / 2
  case 2: the same at batch 256
  case 3: the quadratic demo: G 2-16-16-2, D 2-16-16-2-1, leaky ReLU 0.2, RMSProp 1e-3
          (alpha 0.9, eps 1e-10), batch 256, 10 D then 10 G updates on one batch; D frozen
          (requires_grad_(False)) during G's updates, as in bench/quadratic_torch.py
Usage: torch_bench.py --case N [--seconds S]   (defaults: case 1, 1 second)
"""
import argparse
import time

import torch
import torch.nn as nn


def mnist_models():
    def block(i, o, normalize=True):
        layers = [nn.Linear(i, o)]
        if normalize:
            layers.append(nn.BatchNorm1d(o, 0.8))
        layers.append(nn.LeakyReLU(0.2, inplace=True))
        return layers
    G = nn.Sequential(*block(100, 128, normalize=False), *block(128, 256), *block(256, 512),
                      *block(512, 1024), nn.Linear(1024, 784), nn.Tanh())
    D = nn.Sequential(nn.Linear(784, 512), nn.LeakyReLU(0.2, inplace=True), nn.Linear(512, 256),
                      nn.LeakyReLU(0.2, inplace=True), nn.Linear(256, 1), nn.Sigmoid())
    return G, D


def mnist_step_fn(batch):
    G, D = mnist_models()
    loss = nn.BCELoss()
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = torch.rand(batch, 784) * 2 - 1
    valid = torch.ones(batch, 1)
    fake = torch.zeros(batch, 1)

    def step():
        z = torch.randn(batch, 100)
        opt_g.zero_grad()
        gen = G(z)
        g_loss = loss(D(gen), valid)
        g_loss.backward()
        opt_g.step()
        opt_d.zero_grad()
        d_loss = (loss(D(real), valid) + loss(D(gen.detach()), fake)) / 2
        d_loss.backward()
        opt_d.step()
    return step


def quad_step_fn():
    batch = 256
    G = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 16), nn.LeakyReLU(0.2), nn.Linear(16, 2))
    D = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 16), nn.LeakyReLU(0.2),
                      nn.Linear(16, 2), nn.Linear(2, 1))
    loss = nn.BCEWithLogitsLoss()
    opt_g = torch.optim.RMSprop(G.parameters(), lr=1e-3, alpha=0.9, eps=1e-10)
    opt_d = torch.optim.RMSprop(D.parameters(), lr=1e-3, alpha=0.9, eps=1e-10)
    ones = torch.ones(batch, 1)
    zeros = torch.zeros(batch, 1)

    def step():
        x = 100 * (torch.rand(batch, 1) - 0.5)
        real = torch.cat([x, 10 + x * x], 1)
        z = torch.rand(batch, 2) * 2 - 1
        with torch.no_grad():
            fake = G(z)
        for _ in range(10):
            opt_d.zero_grad()
            d_loss = loss(D(real), ones) + loss(D(fake), zeros)
            d_loss.backward()
            opt_d.step()
        D.requires_grad_(False)  # as the tutorial's minimize(var_list=G's): no D gradients in G's updates
        for _ in range(10):
            opt_g.zero_grad()
            g_loss = loss(D(G(z)), ones)
            g_loss.backward()
            opt_g.step()
        D.requires_grad_(True)
    return step


def main():
    p = argparse.ArgumentParser(description="PyTorch equivalents of bench.c cases 1-3 (one thread)")
    p.add_argument("--case", type=int, default=1, choices=[1, 2, 3], help="which case (default 1)")
    p.add_argument("--seconds", type=float, default=1.0, help="timed seconds (default 1)")
    a = p.parse_args()
    if not a.seconds > 0:
        p.error("--seconds must be positive")
    torch.set_num_threads(1)
    torch.manual_seed(0)
    step = quad_step_fn() if a.case == 3 else mnist_step_fn(64 if a.case == 1 else 256)
    for _ in range(5):
        step()
    steps = 0
    c0, w0 = time.process_time(), time.perf_counter()
    while True:
        step()
        steps += 1
        c, w = time.process_time() - c0, time.perf_counter() - w0
        if (c >= a.seconds and steps >= 3):
            break
    print("steps_per_s %.6g" % (steps / c))
    print("wall_steps_per_s %.6g" % (steps / w))


if __name__ == "__main__":
    main()
