"""Side-by-side latency of EfficientNet-B4 (icpr2020dfdc's AutoAtt B4, 224×224), Xception (299×299) and
ResNet-34 (224×224) in deepscope, onnxruntime and PyTorch, same machine, same run; prints a table with
deepscope/onnxruntime and deepscope/PyTorch ratios, deepscope's forward+GradCAM time and peak RSS.

    /root/.cache/deepscope-oracle/venv/bin/python scripts/bench_models.py --deepscope .build/release/deepscope \
        --models b4,xception,resnet34
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


def build_b4():
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


def build_xception():
    import timm
    return timm.create_model("legacy_xception", pretrained=False, num_classes=1).eval()


def build_resnet34():
    import torchvision
    return torchvision.models.resnet34(num_classes=1).eval()


# name: (PyTorch builder, deepscope detector spec, input size, GradCAM layer or None for the spec's own)
MODELS = {
    "b4": (build_b4, "efficientnet-autoatt:b4:lukemelas-0.7", 224, None),
    "xception": (build_xception, "xception:timm", 299, "conv4"),
    "resnet34": (build_resnet34, "resnet:34", 224, "layer4"),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--deepscope", default=".build/release/deepscope")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--models", default="b4,xception,resnet34")
    ap.add_argument("--size", type=int, default=0, help="input size (0: each model's own)")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternate the engines this many times per case; each column is the median of the rounds")
    args = ap.parse_args()

    import torch
    import onnxruntime as ort

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print(f"cpu: {cpu}; onnxruntime {ort.__version__}, torch {torch.__version__}")
    print(f"load: {os.getloadavg()[0]:.1f} (1-min average) on {os.cpu_count()} CPUs; "
          f"median over {args.rounds} alternating rounds of the median of {args.runs} runs, ms")
    print("model      size threads batch  deepscope  ds+gradcam  ds_rss_MB  onnxruntime  pytorch  ds/ort  ds/torch  cam/fwd")
    for name in args.models.split(","):
        builder, detector, size, cam_layer = MODELS[name]
        size = args.size or size
        model = builder()
        onnx_path = os.path.join(tempfile.mkdtemp(), name + ".onnx")
        torch.onnx.export(model, torch.randn(1, 3, size, size), onnx_path, input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "n"}}, opset_version=17, dynamo=False)
        weights = []
        if name != "b4":
            # deepscope has seeded random weights for EfficientNet only; hand it this model's own (random) ones.
            from safetensors.torch import save_file
            path = os.path.join(os.path.dirname(onnx_path), name + ".safetensors")
            save_file({k: v.contiguous() for k, v in model.state_dict().items() if v.dtype == torch.float32}, path)
            weights = ["--weights", path]
        for threads in [int(t) for t in args.threads.split(",")]:
            torch.set_num_threads(threads)
            so = ort.SessionOptions()
            so.intra_op_num_threads = threads
            so.inter_op_num_threads = 1
            sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
            for batch in [int(b) for b in args.batches.split(",")]:
                x = np.random.default_rng(0).standard_normal((batch, 3, size, size), dtype=np.float32)
                xt = torch.from_numpy(x)
                # Alternate the engines, round after round, so a change in machine speed (on a shared machine it
                # can halve for minutes) hits all three alike; each column is the median of its rounds.
                # deepscope is started from a small shell: a child forked straight from this (torch-sized)
                # process inherits its peak RSS, which would then be what deepscope reports as its own.
                command = [args.deepscope, "bench", "model", "--detector", detector, "--size", str(size),
                           "--batch", str(batch), "--runs", str(args.runs), "--threads", str(threads)] + weights
                if cam_layer:
                    command += ["--gradcam-layer", cam_layer]
                rounds = []
                for _ in range(args.rounds):
                    out = subprocess.run(["sh", "-c", '"$@" & wait $!', "sh"] + command, check=True,
                                         capture_output=True, text=True).stdout
                    ort_round = median_ms(lambda: sess.run(None, {"x": x}), args.runs)
                    with torch.no_grad():
                        torch_round = median_ms(lambda: model(xt), args.runs)
                    rounds.append((json.loads(out), ort_round, torch_round))
                ort_ms = statistics.median(r[1] for r in rounds)
                torch_ms = statistics.median(r[2] for r in rounds)
                ds = dict(rounds[0][0])
                for key in ("forward_ms", "forward_gradcam_ms", "peak_rss_mb"):
                    if key in ds:
                        ds[key] = statistics.median(r[0][key] for r in rounds)
                f, cam = ds["forward_ms"], ds.get("forward_gradcam_ms")
                cam_ms, ratio = (f"{cam:11.1f}", f"{cam / f:8.2f}") if cam else (f"{'n/a':>11s}", f"{'n/a':>8s}")
                print(f"{name:10s} {size:4d} {threads:7d} {batch:5d} {f:10.1f} {cam_ms} {ds['peak_rss_mb']:10.0f}"
                      f" {ort_ms:12.1f} {torch_ms:8.1f} {f / ort_ms:7.2f} {f / torch_ms:9.2f} {ratio}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
