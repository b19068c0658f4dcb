"""PyTorch CPU twin of `synthgym classify train` (the `cnn` model), to compare seconds per epoch.

Builds the same network for the same ImageFolder: stages of two 3x3 conv (no bias) +
BatchNorm + ReLU and a 2x2 max pool while the side is at least 8 (at most three
stages, channels width, 2*width, 4*width), then Linear(flat, 128) + ReLU + Dropout
and Linear(128, classes); Adam (eps 1e-8) with a cosine decay, cross-entropy, the same
batch size, a 10% validation split, no augmentation (compare with
`synthgym classify train --no-augment`). Images are decoded and resized to the same
side with PIL before timing; only the training loop is timed.

    python benches/peers/torch_classify.py DATA --image-size 16 --channels 1 --epochs 5 --batch-size 32
"""

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn


def load(root: Path, size: int, channels: int):
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    xs, ys = [], []
    for label, c in enumerate(classes):
        for f in sorted((root / c).glob("*.png")):
            img = Image.open(f).convert("L" if channels == 1 else "RGB").resize((size, size), Image.BILINEAR)
            xs.append(np.asarray(img, dtype=np.float32).reshape(size, size, channels) / 255.0)
            ys.append(label)
    x = torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).contiguous()
    return x, torch.tensor(ys), classes


def build(size: int, channels: int, width: int, classes: int) -> nn.Module:
    layers, c, side, stage = [], channels, size, 0
    while side >= 8 and stage < 3:
        out = width << stage
        for cin in (c, out):
            layers += [nn.Conv2d(cin, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU()]
        layers.append(nn.MaxPool2d(2))
        c, side, stage = out, side // 2, stage + 1
    layers += [nn.Flatten(), nn.Linear(c * side * side, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, classes)]
    return nn.Sequential(*layers)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", type=Path)
    ap.add_argument("--image-size", type=int, default=32)
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    x, y, classes = load(args.data, args.image_size, args.channels)
    perm = torch.randperm(len(x))
    n_val = len(x) // 10
    x_tr, y_tr = x[perm[n_val:]], y[perm[n_val:]]
    mean = x_tr.mean(dim=(0, 2, 3), keepdim=True)
    std = x_tr.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-3)
    x_tr = (x_tr - mean) / std
    model = build(args.image_size, args.channels, args.width, len(classes))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, eps=1e-8)
    steps = math.ceil(len(x_tr) / args.batch_size) * args.epochs
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    loss_fn = nn.CrossEntropyLoss()
    times = []
    for epoch in range(args.epochs):
        model.train()
        t0 = time.perf_counter()
        order = torch.randperm(len(x_tr))
        total, correct = 0.0, 0
        for i in range(0, len(order), args.batch_size):
            idx = order[i : i + args.batch_size]
            if len(idx) < 2:
                continue
            logits = model(x_tr[idx])
            loss = loss_fn(logits, y_tr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            correct += (logits.argmax(1) == y_tr[idx]).sum().item()
        dt = time.perf_counter() - t0
        times.append(dt)
        print(f"epoch {epoch + 1}: loss {total / len(x_tr):.4f} acc {correct / len(x_tr):.4f} {dt:.2f} s ({len(x_tr) / dt:.0f} img/s)")
    later = times[1:] or times
    print(f"torch {torch.__version__}, {args.threads} threads: {sum(later) / len(later):.2f} s per epoch (epochs after the first), {len(x_tr)} images")


if __name__ == "__main__":
    main()
