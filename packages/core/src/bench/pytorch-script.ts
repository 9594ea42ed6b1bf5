/**
 * The PyTorch side of the benchmark, run as `python3 - <spec.json>` with this text on stdin (kept
 * as a string so the CLI bundle and the extension carry it without a file of their own).
 *
 * It builds the same network as src/model (conv [no bias with batch norm] → BN → ReLU → max-pool
 * blocks, flatten, dense + ReLU, dropout after the last hidden layer, linear output), trains it with
 * the trainer's loss (masked MSE + L2 on dense/conv kernels) and Adam (eps 1e-7 like ours) on the
 * same kind of random batches, and prints one JSON object.
 */
export const PYTORCH_BENCH_SCRIPT = String.raw`
import json, resource, sys, time
spec = json.loads(sys.argv[1])
import torch
from torch import nn
torch.set_num_threads(spec["threads"])
torch.manual_seed(spec["seed"])
cfg, size, outs, batch = spec["model"], spec["imageSize"], spec["outputs"], spec["batchSize"]

layers, ch, h = [], 1, size
for c in cfg["conv"]:
    k, s = c["kernel"], c["stride"]
    if c["padding"] == "same":
        # TF 'same': total padding max(k - s, 0) (for h divisible by s), the extra pixel at the bottom/right.
        total = max(k - s, 0) if h % s == 0 else max(k - h % s, 0)
        layers.append(nn.ZeroPad2d((total // 2, total - total // 2, total // 2, total - total // 2)))
        h = -(-h // s)
    else:
        h = (h - k) // s + 1
    layers.append(nn.Conv2d(ch, c["filters"], k, stride=s, bias=not c["batchNorm"]))
    if c["batchNorm"]:
        layers.append(nn.BatchNorm2d(c["filters"], eps=1e-3, momentum=0.1))
    layers.append(nn.ReLU())
    if c["pool"] > 1:
        layers.append(nn.MaxPool2d(c["pool"]))
        h //= c["pool"]
    ch = c["filters"]
if cfg["globalPool"] == "avg":
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    units = ch
else:
    layers.append(nn.Flatten())
    units = ch * h * h
for i, u in enumerate(cfg["dense"]):
    layers += [nn.Linear(units, u), nn.ReLU()]
    units = u
if cfg["dropout"] > 0 and cfg["dense"]:
    layers.append(nn.Dropout(cfg["dropout"]))
layers.append(nn.Linear(units, outs))
model = nn.Sequential(*layers)
dense_w = [m.weight for m in model if isinstance(m, nn.Linear)]
conv_w = [m.weight for m in model if isinstance(m, nn.Conv2d)]
opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)

x = torch.rand(batch, 1, size, size)
y = torch.rand(batch, outs) * 2 - 1
mask = (torch.rand(batch, outs) > spec["missingFraction"]).float()

def step():
    opt.zero_grad(set_to_none=True)
    pred = model(x)
    loss = ((pred - y) ** 2 * mask).sum() / mask.sum().clamp(min=1)
    if cfg["l2"] > 0:
        loss = loss + cfg["l2"] * sum((w ** 2).sum() for w in dense_w)
    if cfg["l2Conv"] > 0:
        loss = loss + cfg["l2Conv"] * sum((w ** 2).sum() for w in conv_w)
    loss.backward()
    opt.step()
    return loss.item()

model.train()
for _ in range(spec["warmupSteps"]):
    step()
t0 = time.perf_counter()
for _ in range(spec["trainSteps"]):
    step()
train_s = time.perf_counter() - t0

model.eval()
xi = torch.rand(64, 1, size, size)
x1 = torch.rand(1, 1, size, size)
with torch.no_grad():
    for _ in range(2):
        model(xi)
    t0 = time.perf_counter()
    for _ in range(spec["inferRuns"]):
        model(xi)
    infer_s = time.perf_counter() - t0
    for _ in range(3):
        model(x1)
    lat = []
    for _ in range(spec["predictRuns"]):
        t0 = time.perf_counter()
        model(x1)
        lat.append(time.perf_counter() - t0)
lat.sort()
print(json.dumps({
    "torchVersion": torch.__version__,
    "threads": torch.get_num_threads(),
    "trainImagesPerSec": spec["trainSteps"] * batch / train_s,
    "inferImagesPerSec": spec["inferRuns"] * 64 / infer_s,
    "predictLatencyMs": lat[len(lat) // 2] * 1000,
    "peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
`;
