#!/usr/bin/python3
"""quadratic_torch.py - a faithful PyTorch port of the quadratic-curve demo, for timing it
against build/quadratic on one thread (bench/quadratic.sh runs both side by side).

Same settings as the tutorial (aadilh/blogs basic-gans/code/gan.py) and the C demo:
  data   x = 100 * (U[0,1) - 0.5), y = 10 + x^2; noise z ~ U(-1, 1)^2; batch 256
  G      2 -> 16 -> 16 -> 2, leaky ReLU 0.2 on the hidden layers, linear output
  D      2 -> 16 -> 16 -> 2 -> 1, leaky ReLU 0.2 on the 16-unit layers, linear 2-unit features
  init   Glorot-uniform weights, zero biases (TensorFlow's dense default)
  loss   D: BCE(real, 1) + BCE(fake, 0) from logits; G: BCE(D(G(z)), 1) (non-saturating)
  optim  TensorFlow 1 RMSProp, lr 1e-3, decay 0.9, eps 1e-10, mean square starting at 1:
         ms = 0.9 ms + 0.1 g^2;  w -= lr g / sqrt(ms + eps). PyTorch's RMSprop differs (its
         square average starts at 0 and its eps sits outside the sqrt), so the update is
         written out below with in-place tensor ops (torch._foreach_* when present, as
         torch.optim itself does); --torch-rmsprop uses torch.optim.RMSprop(alpha=0.9,
         eps=1e-10) with the square average preset to 1 instead.
  loop   10,001 iterations; each draws one real and one noise batch, makes 10 D updates
         (G(z) computed once, it does not change), then 10 G updates (D's parameters frozen
         with requires_grad_(False), so no D gradients are computed there).
Like the C demo it logs the losses every 10 iterations, reads D's feature layer before and
after the G updates every 1,000 iterations, and measures 10,000 samples at the end (KS of x,
mean |y - (10 + x^2)| / 2500, x-bins covered, late losses). It draws no plots.
--write-draws FILE / --train-draws FILE swap the random numbers with the C demo (the initial
weights, every batch, the final noise): see bench/quadratic_draws.c.
One thread: torch.set_num_threads(1); run with OPENBLAS_NUM_THREADS=1 (bench/quadratic.sh does).
"""
import argparse
import math
import os
import struct
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print("quadratic_torch.py: PyTorch is not installed (python3-torch); skipped")
    sys.exit(0)


def positive_int(s):
    v = int(s)
    if v < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return v


def parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--iterations", type=positive_int, default=10001, help="training iterations")
    p.add_argument("--batch", type=positive_int, default=256, help="samples per minibatch")
    p.add_argument("--nd", type=int, default=10, help="D updates per iteration")
    p.add_argument("--ng", type=int, default=10, help="G updates per iteration")
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate of both optimizers")
    p.add_argument("--seed", type=int, default=1, help="torch.manual_seed")
    p.add_argument("--samples", type=positive_int, default=10000, help="generated points measured")
    p.add_argument("--torch-rmsprop", action="store_true",
                   help="torch.optim.RMSprop (alpha 0.9, eps 1e-10, square average preset to 1)")
    p.add_argument("--crosscheck", metavar="FILE",
                   help="replay bench/quadratic_dump.c's weights and batches, compare the losses, exit")
    p.add_argument("--write-draws", metavar="FILE",
                   help="write this seed's random draws (weights, batches, final noise) in "
                        "bench/quadratic_draws.c's format, exit")
    p.add_argument("--train-draws", metavar="FILE",
                   help="train on a draws file (from either side) instead of this seed's draws")
    a = p.parse_args()
    if a.nd < 0 or a.ng < 0:
        p.error("--nd and --ng must be >= 0")
    if not (a.lr > 0 and math.isfinite(a.lr)):
        p.error("--lr must be a positive number")
    return a


def sample_data(n):
    x = 100.0 * (torch.rand(n) - 0.5)
    return torch.stack([x, 10.0 + x * x], dim=1)


def sample_z(n):
    return torch.rand(n, 2) * 2.0 - 1.0


def glorot(layer):
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.h1, self.h2, self.out = glorot(nn.Linear(2, 16)), glorot(nn.Linear(16, 16)), glorot(nn.Linear(16, 2))

    def forward(self, z):
        h = F.leaky_relu(self.h1(z), 0.2)
        h = F.leaky_relu(self.h2(h), 0.2)
        return self.out(h)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.h1, self.h2 = glorot(nn.Linear(2, 16)), glorot(nn.Linear(16, 16))
        self.h3, self.out = glorot(nn.Linear(16, 2)), glorot(nn.Linear(2, 1))

    def forward(self, x):
        h = F.leaky_relu(self.h1(x), 0.2)
        h = F.leaky_relu(self.h2(h), 0.2)
        features = self.h3(h)
        return self.out(features), features


class RMSPropTF:
    """TensorFlow 1's RMSPropOptimizer without momentum: ms starts at 1, eps inside the sqrt."""

    def __init__(self, params, lr, rho=0.9, eps=1e-10):
        self.params = list(params)
        self.ms = [torch.ones_like(p) for p in self.params]
        self.lr, self.rho, self.eps = lr, rho, eps
        self.foreach = hasattr(torch, "_foreach_addcdiv_")

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self):
        grads = [p.grad for p in self.params]
        if self.foreach:
            torch._foreach_mul_(self.ms, self.rho)
            torch._foreach_addcmul_(self.ms, grads, grads, 1 - self.rho)
            denom = torch._foreach_sqrt(torch._foreach_add(self.ms, self.eps))
            torch._foreach_addcdiv_(self.params, grads, denom, -self.lr)
        else:
            for p, g, ms in zip(self.params, grads, self.ms):
                ms.mul_(self.rho).addcmul_(g, g, value=1 - self.rho)
                p.addcdiv_(g, (ms + self.eps).sqrt_(), value=-self.lr)


def torch_rmsprop(params, lr):
    params = list(params)
    opt = torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-10)
    for p in params:  # preset the state torch.optim would create lazily, with ms = 1 as in TF
        opt.state[p] = {"step": torch.tensor(0.0), "square_avg": torch.ones_like(p)}
    return opt


def load_params(layers, v):
    """gan.h's layout, per dense layer W (in, out) row-major then b, into torch's (out, in)."""
    off = 0
    with torch.no_grad():
        for lin in layers:
            o, i = lin.weight.shape
            lin.weight.copy_(v[off:off + i * o].view(i, o).t())
            lin.bias.copy_(v[off + i * o:off + i * o + o])
            off += i * o + o
    return off == v.numel()


def params_of(layers):
    return torch.cat([torch.cat([lin.weight.detach().t().reshape(-1), lin.bias.detach()]) for lin in layers])


def layers(G, D):
    return [G.h1, G.h2, G.out], [D.h1, D.h2, D.h3, D.out]


def write_draws(path, a):
    """This seed's draws, in the order main() makes them (see bench/quadratic_draws.c)."""
    G, D = Generator(), Discriminator()
    g_layers, d_layers = layers(G, D)
    g, d = params_of(g_layers), params_of(d_layers)
    with open(path, "wb") as f:
        f.write(struct.pack("<5i", g.numel(), d.numel(), a.iterations, a.batch, a.samples))
        f.write(g.numpy().astype("<f4").tobytes())
        f.write(d.numpy().astype("<f4").tobytes())
        for _ in range(a.iterations):
            f.write(sample_data(a.batch).numpy().astype("<f4").tobytes())
            f.write(sample_z(a.batch).numpy().astype("<f4").tobytes())
        f.write(sample_z(a.samples).numpy().astype("<f4").tobytes())


class Draws:
    """A draws file: the weights, then batches and the final noise in the order they are used."""

    def __init__(self, path, G, D, a):
        raw = open(path, "rb").read()
        if len(raw) < 20:
            sys.exit("quadratic_torch.py: %s: not a draws file" % path)
        n_g, n_d, self.iterations, self.batch, self.samples = struct.unpack_from("<5i", raw)
        size = n_g + n_d + self.iterations * self.batch * 4 + self.samples * 2
        if len(raw) != 20 + 4 * size or self.batch != a.batch:
            sys.exit("quadratic_torch.py: %s: not a draws file for batch %d" % (path, a.batch))
        self.v = torch.frombuffer(bytearray(raw[20:]), dtype=torch.float32)
        g_layers, d_layers = layers(G, D)
        if not (load_params(g_layers, self.v[:n_g]) and load_params(d_layers, self.v[n_g:n_g + n_d])):
            sys.exit("quadratic_torch.py: %s: parameter counts do not match the networks" % path)
        self.pos = n_g + n_d

    def take(self, rows):
        out = self.v[self.pos:self.pos + 2 * rows].view(rows, 2)
        self.pos += 2 * rows
        return out


def quality(xy):
    x, y = xy[:, 0].double(), xy[:, 1].double()
    n = x.numel()
    xs, _ = torch.sort(x)
    cdf = ((xs + 50) / 100).clamp(0, 1)
    i = torch.arange(n, dtype=torch.float64)
    ks = torch.max(torch.maximum(cdf - i / n, (i + 1) / n - cdf)).item()
    err = (y - (10 + x * x)).abs().mean().item() / 2500
    inside = (x >= -50) & (x < 50)
    counts = torch.bincount(((x[inside] + 50) // 10).long().clamp(0, 9), minlength=10)
    bins = int((counts >= 0.02 * n).sum().item())
    return ks, err, bins


def crosscheck(path, use_torch_rmsprop):
    """Loads gan.h's initial weights, replays its batches, compares every update's loss."""
    records = [line.split() for line in open(path) if line.strip()]

    def values(rec, name):
        if rec[0] != name or int(rec[1]) != len(rec) - 2:
            sys.exit("quadratic_torch.py: %s: expected a %s record, found %s" % (path, name, rec[0]))
        return torch.tensor([float(v) for v in rec[2:]], dtype=torch.float32)

    G, D = Generator(), Discriminator()
    g_layers, d_layers = layers(G, D)
    if not (load_params(g_layers, values(records[0], "G")) and load_params(d_layers, values(records[1], "D"))):
        sys.exit("quadratic_torch.py: %s: parameter count does not match the networks" % path)
    make = torch_rmsprop if use_torch_rmsprop else RMSPropTF
    opt_g, opt_d = make(G.parameters(), 1e-3), make(D.parameters(), 1e-3)
    bce = F.binary_cross_entropy_with_logits
    worst, updates, r = 0.0, 0, 2
    while r < len(records):
        X, Z = values(records[r], "X").view(-1, 2), values(records[r + 1], "Z").view(-1, 2)
        ones, zeros = torch.ones(X.shape[0], 1), torch.zeros(X.shape[0], 1)
        r += 2
        with torch.no_grad():
            fake = G(Z)
        while r < len(records) and records[r][0] in ("d", "g"):
            if records[r][0] == "d":
                opt_d.zero_grad()
                loss = bce(D(X)[0], ones) + bce(D(fake)[0], zeros)
                loss.backward()
                opt_d.step()
            else:
                D.requires_grad_(False)
                opt_g.zero_grad()
                loss = bce(D(G(Z))[0], ones)
                loss.backward()
                opt_g.step()
                D.requires_grad_(True)
            c = float(records[r][1])
            worst = max(worst, abs(loss.item() - c) / max(abs(c), 1e-3))
            updates += 1
            r += 1
    ok = worst < 1e-4
    print("crosscheck: %d updates replayed from %s; largest relative loss difference gan.h vs PyTorch %.2e (%s)"
          % (updates, path, worst, "agree" if ok else "DISAGREE"))
    sys.exit(0 if ok else 1)


def main():
    a = parse()
    torch.set_num_threads(1)
    if a.crosscheck:
        crosscheck(a.crosscheck, a.torch_rmsprop)
    torch.manual_seed(a.seed)
    if a.write_draws:
        write_draws(a.write_draws, a)
        sys.exit(0)
    G, D = Generator(), Discriminator()
    draws = Draws(a.train_draws, G, D, a) if a.train_draws else None
    if draws:
        a.iterations, a.samples = draws.iterations, draws.samples
    make = torch_rmsprop if a.torch_rmsprop else RMSPropTF
    opt_g, opt_d = make(G.parameters(), a.lr), make(D.parameters(), a.lr)
    ones, zeros = torch.ones(a.batch, 1), torch.zeros(a.batch, 1)
    bce = F.binary_cross_entropy_with_logits
    logs, features = [], []
    late_from = a.iterations - min(1000, a.iterations)
    sum_d = sum_g = 0.0

    start = time.perf_counter()
    for it in range(a.iterations):
        X, Z = (draws.take(a.batch), draws.take(a.batch)) if draws else (sample_data(a.batch), sample_z(a.batch))
        with torch.no_grad():
            fake = G(Z)
        d_loss = g_loss = torch.zeros(())
        for _ in range(a.nd):
            opt_d.zero_grad()
            real_logit, _ = D(X)
            fake_logit, _ = D(fake)
            d_loss = bce(real_logit, ones) + bce(fake_logit, zeros)
            d_loss.backward()
            opt_d.step()
        checkpoint = it % 1000 == 0
        if checkpoint:
            with torch.no_grad():
                before = (D(X)[1], D(G(Z))[1])
        D.requires_grad_(False)
        for _ in range(a.ng):
            opt_g.zero_grad()
            logit, _ = D(G(Z))
            g_loss = bce(logit, ones)
            g_loss.backward()
            opt_g.step()
        D.requires_grad_(True)
        if checkpoint:
            with torch.no_grad():
                features.append((it, before, D(X)[1], D(G(Z))[1]))
        dl, gl = d_loss.item(), g_loss.item()
        if it % 10 == 0:
            logs.append((it, dl, gl))
        if it >= late_from:
            sum_d += dl
            sum_g += gl
    seconds = time.perf_counter() - start

    with torch.no_grad():
        samples = G(draws.take(a.samples) if draws else sample_z(a.samples))
    n_late = a.iterations - late_from
    ks, err, bins = quality(samples)
    print("pytorch %s: %d iterations of %d D + %d G updates, batch %d, one thread: trained in %.2f s (%.0f it/s)"
          % (torch.__version__, a.iterations, a.nd, a.ng, a.batch, seconds, a.iterations / seconds))
    print("quality: KS %.4f  err/range %.4f  bins %d/10  late D %.3f  late G %.3f  (logged %d, checkpoints %d)"
          % (ks, err, bins, sum_d / n_late, sum_g / n_late, len(logs), len(features)))


if __name__ == "__main__":
    main()
