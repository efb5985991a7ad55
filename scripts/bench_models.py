"""Side-by-side latency of EfficientNet-B4 (icpr2020dfdc's AutoAtt B4, 224×224) in deepscope, onnxruntime and
PyTorch, same machine, same run; prints a table with deepscope/onnxruntime and deepscope/PyTorch ratios.

    /root/.cache/deepscope-oracle/venv/bin/python scripts/bench_models.py --deepscope .build/release/deepscope
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np


def median_ms(fn, runs):
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def build_model():
    import torch
    from torch import nn
    from efficientnet_pytorch import EfficientNet

    class AutoAttB4(EfficientNet):
        def extract_features(self, x):
            x = self._swish(self._bn0(self._conv_stem(x)))
            for idx, block in enumerate(self._blocks):
                x = block(x)
                if idx == 9:
                    x = x * torch.sigmoid(self.attconv(x))
            return self._swish(self._bn1(self._conv_head(x)))

    torch.manual_seed(0)
    net = AutoAttB4.from_name("efficientnet-b4")
    net.attconv = nn.Conv2d(56, 1, 1)
    net.set_swish(memory_efficient=False)  # the ONNX exporter cannot trace the custom autograd swish

    class Wrapped(nn.Module):
        def __init__(self):
            super().__init__()
            self.efficientnet = net
            self.classifier = nn.Linear(1792, 1)

        def forward(self, x):
            x = self.efficientnet._avg_pooling(self.efficientnet.extract_features(x)).flatten(1)
            return self.classifier(x)

    return Wrapped().eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--deepscope", default=".build/release/deepscope")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--threads", default="1,2")
    args = ap.parse_args()

    import torch
    import onnxruntime as ort

    model = build_model()
    onnx_path = os.path.join(tempfile.mkdtemp(), "b4.onnx")
    torch.onnx.export(model, torch.randn(1, 3, args.size, args.size), onnx_path, input_names=["x"],
                      output_names=["y"], dynamic_axes={"x": {0: "n"}}, opset_version=17, dynamo=False)
    rows = []
    for threads in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(threads)
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
        for batch in [int(b) for b in args.batches.split(",")]:
            x = np.random.default_rng(0).standard_normal((batch, 3, args.size, args.size), dtype=np.float32)
            xt = torch.from_numpy(x)
            ort_ms = median_ms(lambda: sess.run(None, {"x": x}), args.runs)
            with torch.no_grad():
                torch_ms = median_ms(lambda: model(xt), args.runs)
            out = subprocess.run([args.deepscope, "bench", "model", "--detector", "efficientnet-autoatt:b4:lukemelas-0.7",
                                  "--size", str(args.size), "--batch", str(batch), "--runs", str(args.runs),
                                  "--threads", str(threads)], check=True, capture_output=True, text=True).stdout
            ds = json.loads(out)
            rows.append((threads, batch, ds["forward_ms"], ds.get("forward_gradcam_ms"), ds["peak_rss_mb"], ort_ms, torch_ms))
    print(f"EfficientNet-AutoAtt-B4 {args.size}x{args.size}, median of {args.runs} runs (ms)")
    print("threads batch  deepscope  ds+gradcam  ds_rss_MB  onnxruntime  pytorch  ds/ort  ds/torch")
    for t, b, ds, dsg, rss, o, p in rows:
        print(f"{t:7d} {b:5d} {ds:10.1f} {dsg or 0:11.1f} {rss:10.0f} {o:12.1f} {p:8.1f} {ds / o:7.2f} {ds / p:9.2f}")


if __name__ == "__main__":
    sys.exit(main())
