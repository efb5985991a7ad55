"""A tiny EfficientNet-like network (conv-bn-silu, squeeze-excite, depthwise, residual, pool, linear) in PyTorch,
for the Neural engine's end-to-end test: logits, and d(logit of class 1)/d(activation after the depthwise stage).

Run in the oracle venv:  python Tests/Fixtures/make_neural_composite.py
Writes Tests/Fixtures/neural/composite.json + composite.bin in the same format as make_neural_ops.py.
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(7)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "neural")


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False)
        self.bn0 = nn.BatchNorm2d(8, eps=1e-3)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
        self.bn1 = nn.BatchNorm2d(8, eps=1e-3)
        self.se_reduce = nn.Conv2d(8, 4, 1)
        self.se_expand = nn.Conv2d(4, 8, 1)
        self.project = nn.Conv2d(8, 8, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(8, eps=1e-3)
        self.fc = nn.Linear(8, 3)
        for bn in (self.bn0, self.bn1, self.bn2):
            bn.running_mean.normal_(0, 0.3)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.data.normal_(1, 0.2)
            bn.bias.data.normal_(0, 0.2)

    def forward(self, x):
        x = F.silu(self.bn0(self.stem(x)))
        skip = x
        x = F.silu(self.bn1(self.dw(x)))
        self.act = x
        self.act.retain_grad()
        s = F.adaptive_avg_pool2d(x, 1)
        s = torch.sigmoid(self.se_expand(F.silu(self.se_reduce(s))))
        x = x * s
        x = self.bn2(self.project(x)) + skip
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


model = Tiny().eval()
x = torch.randn(2, 3, 17, 15)
logits = model(x)
seed = torch.zeros_like(logits)
seed[:, 1] = 1
logits.backward(seed)

tensors = {k: v for k, v in model.state_dict().items() if "num_batches" not in k}
tensors["input"] = x
tensors["logits"] = logits
tensors["act"] = model.act
tensors["act.grad"] = model.act.grad

offset, blob, index = 0, [], {}
for name, t in tensors.items():
    arr = t.detach().contiguous().numpy().astype("<f4")
    index[name] = {"shape": list(arr.shape), "offset": offset, "count": int(arr.size)}
    blob.append(arr.tobytes())
    offset += arr.size
os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, "composite.bin"), "wb") as f:
    f.write(b"".join(blob))
with open(os.path.join(OUT, "composite.json"), "w") as f:
    json.dump({"torch": torch.__version__, "tensors": index, "cases": []}, f, indent=0, sort_keys=True)
print(f"{len(index)} tensors, {offset * 4} bytes")
