#!/usr/bin/python3
"""PyTorch side of `keypoints bench`: the same network, loss and optimizer on random data.

Reads a Keypoints model config (JSON, the `model` section of a resolved config) and prints one
JSON object: training images/s, inference images/s at batch 64, predict latency at batch 1 (ms).
Run with Debian's python3-torch: /usr/bin/python3 bench/pytorch_bench.py --config '{...}'.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn


class Net(nn.Module):
    """Mirrors packages/core's network builder: conv blocks (conv, optional batch norm, ReLU,
    optional max-pool), flatten or global average pooling, dense ReLU layers, dropout after the
    last hidden dense layer, linear output."""

    def __init__(self, cfg, size, channels, outputs):
        super().__init__()
        layers = []
        c, h = channels, size
        for block in cfg["conv"]:
            k, s, pad = block["kernel"], block.get("stride", 1), block.get("padding", "same")
            bn = block.get("batchNorm", False)
            if pad == "same":
                # TF 'same': output = ceil(h / s); pad (k-1)//2 before and the rest after.
                out = -(-h // s)
                total = max((out - 1) * s + k - h, 0)
                layers.append(nn.ZeroPad2d((total // 2, total - total // 2, total // 2, total - total // 2)))
                h = out
            else:
                h = (h - k) // s + 1
            layers.append(nn.Conv2d(c, block["filters"], k, stride=s, bias=not bn))
            if bn:
                layers.append(nn.BatchNorm2d(block["filters"], eps=1e-3, momentum=0.01))
            layers.append(nn.ReLU())
            p = block.get("pool", 2)
            if p > 1:
                layers.append(nn.MaxPool2d(p, ceil_mode=pad == "same"))
                h = -(-h // p) if pad == "same" else h // p
            c = block["filters"]
        if cfg.get("globalPool", "none") == "avg":
            layers.append(nn.AdaptiveAvgPool2d(1))
            flat = c
        else:
            flat = c * h * h
        layers.append(nn.Flatten())
        self.features = nn.Sequential(*layers)
        dense = []
        prev = flat
        widths = cfg["dense"]
        self.dense_layers = []
        for i, w in enumerate(widths):
            lin = nn.Linear(prev, w)
            self.dense_layers.append(lin)
            dense += [lin, nn.ReLU()]
            if i == len(widths) - 1 and cfg.get("dropout", 0) > 0:
                dense.append(nn.Dropout(cfg["dropout"]))
            prev = w
        out = nn.Linear(prev, outputs)
        self.dense_layers.append(out)
        dense.append(out)
        self.head = nn.Sequential(*dense)
        self.l2 = cfg.get("l2", 0.0)

    def forward(self, x):
        # Keypoints feeds NHWC; PyTorch wants NCHW. The data loader would produce NCHW directly.
        return self.head(self.features(x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True, help="model config JSON")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3, help="untimed training steps first")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--outputs", type=int, default=30)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = json.loads(args.config)
    net = Net(cfg, args.size, 1, args.outputs)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.rand(args.batch, 1, args.size, args.size)
    y = torch.rand(args.batch, args.outputs) * 2 - 1
    mask = (torch.rand(args.batch, args.outputs) > 0.3).float()

    def step():
        opt.zero_grad(set_to_none=True)
        pred = net(x)
        loss = ((pred - y) ** 2 * mask).sum() / mask.sum().clamp(min=1)
        if net.l2 > 0:
            loss = loss + net.l2 * sum((l.weight ** 2).sum() for l in net.dense_layers[:-1])
        loss.backward()
        opt.step()
        return loss.item()

    net.train()
    for _ in range(args.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    train = args.batch * args.steps / (time.perf_counter() - t0)

    net.eval()
    with torch.no_grad():
        xi = torch.rand(64, 1, args.size, args.size)
        net(xi)
        n = max(2, args.steps)
        t0 = time.perf_counter()
        for _ in range(n):
            net(xi)
        infer = 64 * n / (time.perf_counter() - t0)
        x1 = torch.rand(1, 1, args.size, args.size)
        net(x1)
        lat = []
        for _ in range(20):
            t = time.perf_counter()
            net(x1)
            lat.append((time.perf_counter() - t) * 1000)
    print(json.dumps({"torch": torch.__version__, "threads": args.threads, "trainImagesPerSec": train,
                      "inferImagesPerSec": infer, "predictMs": statistics.median(lat)}))


if __name__ == "__main__":
    main()
