"""Bare PyTorch loop for bench/runner.ts: the U-Net of tools/train-demo-model/unet.py
(same architecture as builtin:unet2d-decathlon, random init), batch 1, eval mode and
inference_mode, warm-up runs, then runs until both the minimum time and run count are reached.
Prints one JSON line: {"event": "torch", ...}.

usage: torch-loop.py UNET_DIR FMS THREADS SECONDS MIN_RUNS WARMUP HEIGHT WIDTH CHANNELS
"""

import json
import sys
import time

unet_dir, fms, threads, seconds, min_runs, warmup, height, width, channels = sys.argv[1:10]
sys.path.insert(0, unet_dir)

import torch  # noqa: E402
from unet import UNet, param_count  # noqa: E402

torch.set_num_threads(int(threads))
torch.set_num_interop_threads(1)
torch.manual_seed(1)
model = UNet(fms=int(fms), in_channels=int(channels)).eval()
x = torch.randn(1, int(channels), int(height), int(width))

with torch.inference_mode():
    for _ in range(int(warmup)):
        model(x)
    latencies = []
    start = time.perf_counter()
    while len(latencies) < max(1, int(min_runs)) or time.perf_counter() - start < float(seconds):
        t = time.perf_counter()
        model(x)
        latencies.append((time.perf_counter() - t) * 1000)
    elapsed = time.perf_counter() - start

latencies.sort()
print(json.dumps({
    'event': 'torch',
    'torch_version': torch.__version__,
    'threads': torch.get_num_threads(),
    'params': param_count(model),
    'runs': len(latencies),
    'seconds': elapsed,
    'throughput_ips': len(latencies) / elapsed,
    'latency_p50_ms': latencies[len(latencies) // 2],
    'onednn': torch.backends.mkldnn.is_available(),
}))
