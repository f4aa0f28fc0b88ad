#!/usr/bin/python3
"""The reference for examples/mnist.c: PyTorch-GAN implementations/gan/gan.py (eriklindernoren),
the same model, loss, optimiser and loop, on MNIST-layout IDX files, on one CPU thread.

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/mnist_torch.py \
        --images /work/shared/data/mnist10k/mnist10k-images-idx3-ubyte --epochs 30 --out out/torch

Differences from gan.py, none of which changes the training maths: the data come from an IDX
file instead of torchvision's download (pixels scaled the same way: x / 127.5 - 1, which is
ToTensor then Normalize([0.5], [0.5])); batches are drawn by indexing a shuffled tensor (as a
DataLoader with shuffle=True and drop_last=False: ceil(n / 64) steps per epoch, the last one
short) rather than through a DataLoader; one thread; seeded; no per-epoch image dumps except
a final sample grid. At the end it writes --n samples of the generator in eval mode as an IDX
file (bytes = round((x + 1) * 127.5)) so that `mnist score` scores it exactly as it scores
`mnist sample`'s output, and prints the training steps per second.
"""
import argparse
import os
import struct
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        sys.exit("%s: not an unsigned-byte IDX file" % path)
    dims = struct.unpack(">%dI" % ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def write_idx(path, array):
    array = np.ascontiguousarray(array, dtype=np.uint8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack(">HBB", 0, 0x08, array.ndim))
        f.write(struct.pack(">%dI" % array.ndim, *array.shape))
        f.write(array.tobytes())
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", required=True, help="IDX images (n, 28, 28) (required)")
    ap.add_argument("--out", required=True, help="output directory (required)")
    ap.add_argument("--epochs", type=int, default=30, help="passes over the data (default 30)")
    ap.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    ap.add_argument("--lr", type=float, default=2e-4, help="Adam learning rate (default 2e-4)")
    ap.add_argument("--b1", type=float, default=0.5, help="Adam beta1 (default 0.5)")
    ap.add_argument("--b2", type=float, default=0.999, help="Adam beta2 (default 0.999)")
    ap.add_argument("--latent-dim", type=int, default=100, help="noise size (default 100)")
    ap.add_argument("--seed", type=int, default=1, help="torch and numpy seed (default 1)")
    ap.add_argument("--n", type=int, default=10000, help="samples written at the end (default 10000)")
    ap.add_argument("--log-every", type=int, default=200, help="progress line every N steps (default 200)")
    opt = ap.parse_args()
    if opt.epochs < 1 or opt.batch < 2 or opt.n < 1:
        ap.error("--epochs, --batch and --n must be positive (--batch at least 2)")

    torch.set_num_threads(1)
    torch.manual_seed(opt.seed)
    np.random.seed(opt.seed)
    os.makedirs(opt.out, exist_ok=True)

    raw = read_idx(opt.images)
    img_shape = (1, raw.shape[1], raw.shape[2])
    data = torch.from_numpy(raw.astype(np.float32) / 127.5 - 1.0).view(-1, *img_shape)
    n = data.shape[0]

    class Generator(nn.Module):
        def __init__(self):
            super(Generator, self).__init__()

            def block(in_feat, out_feat, normalize=True):
                layers = [nn.Linear(in_feat, out_feat)]
                if normalize:
                    layers.append(nn.BatchNorm1d(out_feat, 0.8))
                layers.append(nn.LeakyReLU(0.2, inplace=True))
                return layers

            self.model = nn.Sequential(
                *block(opt.latent_dim, 128, normalize=False),
                *block(128, 256),
                *block(256, 512),
                *block(512, 1024),
                nn.Linear(1024, int(np.prod(img_shape))),
                nn.Tanh()
            )

        def forward(self, z):
            img = self.model(z)
            return img.view(img.size(0), *img_shape)

    class Discriminator(nn.Module):
        def __init__(self):
            super(Discriminator, self).__init__()
            self.model = nn.Sequential(
                nn.Linear(int(np.prod(img_shape)), 512),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Linear(512, 256),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Linear(256, 1),
                nn.Sigmoid(),
            )

        def forward(self, img):
            return self.model(img.view(img.size(0), -1))

    adversarial_loss = torch.nn.BCELoss()
    generator = Generator()
    discriminator = Discriminator()
    optimizer_G = torch.optim.Adam(generator.parameters(), lr=opt.lr, betas=(opt.b1, opt.b2))
    optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=opt.lr, betas=(opt.b1, opt.b2))
    Tensor = torch.FloatTensor

    steps_per_epoch = (n + opt.batch - 1) // opt.batch
    total = opt.epochs * steps_per_epoch
    print("mnist_torch: %d images, %d steps per epoch, %d steps, torch %s, %d thread(s)"
          % (n, steps_per_epoch, total, torch.__version__, torch.get_num_threads()), flush=True)
    step = 0
    train_time = 0.0
    for epoch in range(opt.epochs):
        order = torch.randperm(n)
        t0 = time.perf_counter()
        for i in range(steps_per_epoch):
            imgs = data[order[i * opt.batch:(i + 1) * opt.batch]]
            # --- from here to optimizer_D.step() this is gan.py's loop body, unchanged ---
            valid = Tensor(imgs.size(0), 1).fill_(1.0)
            fake = Tensor(imgs.size(0), 1).fill_(0.0)
            real_imgs = imgs.type(Tensor)

            optimizer_G.zero_grad()
            z = Tensor(np.random.normal(0, 1, (imgs.shape[0], opt.latent_dim)))
            gen_imgs = generator(z)
            g_loss = adversarial_loss(discriminator(gen_imgs), valid)
            g_loss.backward()
            optimizer_G.step()

            optimizer_D.zero_grad()
            real_out = discriminator(real_imgs)
            real_loss = adversarial_loss(real_out, valid)
            fake_out = discriminator(gen_imgs.detach())
            fake_loss = adversarial_loss(fake_out, fake)
            d_loss = (real_loss + fake_loss) / 2
            d_loss.backward()
            optimizer_D.step()
            step += 1
            if step % opt.log_every == 0 or step == total:
                print("epoch %3d/%d  step %6d/%d  D loss %.4f  G loss %.4f  D(x) %.3f  D(G(z)) %.3f  %.1f steps/s"
                      % (epoch + 1, opt.epochs, step, total, d_loss.item(), g_loss.item(), real_out.mean().item(),
                         fake_out.mean().item(), (step - epoch * steps_per_epoch) / (time.perf_counter() - t0)
                         if train_time == 0 else step / (train_time + time.perf_counter() - t0)), flush=True)
        train_time += time.perf_counter() - t0
    print("mnist_torch: trained %d steps in %.1f s: %.2f steps/s" % (total, train_time, total / train_time),
          flush=True)

    torch.save(generator.state_dict(), os.path.join(opt.out, "generator.pt"))
    generator.eval()
    samples = []
    with torch.no_grad():
        for k in range(0, opt.n, 1000):
            z = Tensor(np.random.normal(0, 1, (min(1000, opt.n - k), opt.latent_dim)))
            samples.append(generator(z).numpy().reshape(-1, img_shape[1], img_shape[2]))
    x = np.concatenate(samples)
    write_idx(os.path.join(opt.out, "gen-idx3-ubyte"), np.clip(np.floor((x + 1) * 127.5 + 0.5), 0, 255))
    print("mnist_torch: wrote %d samples to %s" % (opt.n, os.path.join(opt.out, "gen-idx3-ubyte")))


if __name__ == "__main__":
    main()
