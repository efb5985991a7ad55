"""Golden values for deepscope's training losses: loss and gradient w.r.t. the input, by PyTorch autograd.

Writes Tests/Fixtures/train/losses.json. Run with the oracle venv:
    /root/.cache/deepscope-oracle/venv/bin/python Tests/Fixtures/make_train_losses.py
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(3)
out = {}


def grad_of(fn, x):
    x = x.clone().double().requires_grad_(True)
    loss = fn(x)
    loss.backward()
    return float(loss), x.grad.flatten().tolist()


def flat(t):
    return t.flatten().double().tolist()


# Binary: N=6 logits, mixed targets.
z = torch.randn(6) * 2
y = torch.tensor([0., 1., 1., 0., 1., 0.])
v, g = grad_of(lambda x: F.binary_cross_entropy_with_logits(x, y.double()), z)
out["bce"] = {"logits": flat(z), "targets": flat(y), "loss": v, "grad": g}


def focal(x, gamma=2.0, alpha=0.25):
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, y.double(), reduction="none")
    pt = p * y + (1 - p) * (1 - y)
    at = alpha * y + (1 - alpha) * (1 - y)
    return (at * (1 - pt) ** gamma * ce).mean()


v, g = grad_of(focal, z)
out["focal"] = {"logits": flat(z), "targets": flat(y), "loss": v, "grad": g, "gamma": 2.0, "alpha": 0.25}

# Softmax CE: N=5, K=4.
z = torch.randn(5, 4) * 1.5
labels = [0, 3, 1, 2, 3]
v, g = grad_of(lambda x: F.cross_entropy(x, torch.tensor(labels)), z)
out["softmax_ce"] = {"logits": flat(z), "shape": [5, 4], "labels": labels, "loss": v, "grad": g}

# ArcFace / ArcFaceMod on cosines N=5, K=3 (class 0 = real).
cos = torch.rand(5, 3) * 1.6 - 0.8
labels = [0, 1, 2, 0, 1]


def arc(x, margins, s=30.0):
    m = torch.tensor([margins[l] for l in labels], dtype=torch.float64)
    target = x.gather(1, torch.tensor(labels).view(-1, 1)).squeeze(1)
    theta = torch.acos(target.clamp(-1 + 1e-7, 1 - 1e-7))
    adjusted = torch.cos(theta + m)
    onehot = F.one_hot(torch.tensor(labels), 3).double()
    logits = s * (x * (1 - onehot) + adjusted.unsqueeze(1) * onehot)
    return F.cross_entropy(logits, torch.tensor(labels))


v, g = grad_of(lambda x: arc(x, [0.5, 0.5, 0.5]), cos)
out["arcface"] = {"cosines": flat(cos), "shape": [5, 3], "labels": labels, "margins": [0.5], "scale": 30.0, "loss": v, "grad": g}
v, g = grad_of(lambda x: arc(x, [0.7, 0.3, 0.3]), cos)
out["arcfacemod"] = {"cosines": flat(cos), "shape": [5, 3], "labels": labels, "margins": [0.7, 0.3, 0.3], "scale": 30.0, "loss": v, "grad": g}

# Semi-hard triplet on N=8, D=4 normalised embeddings, 3 classes; mining as TensorFlow Addons' rule.
e = F.normalize(torch.randn(8, 4), dim=1)
labels = [0, 0, 1, 1, 2, 2, 0, 1]
margin = 0.3


def triplet(x):
    d = torch.cdist(x, x)
    dd = d.detach()
    losses = []
    n = len(labels)
    for a in range(n):
        for p in range(n):
            if p == a or labels[p] != labels[a]:
                continue
            negs = [q for q in range(n) if labels[q] != labels[a]]
            semi = [q for q in negs if dd[a, q] > dd[a, p]]
            q = min(semi, key=lambda q: dd[a, q]) if semi else max(negs, key=lambda q: dd[a, q])
            losses.append(torch.clamp(d[a, p] - d[a, q] + margin, min=0))
    return torch.stack(losses).mean()


v, g = grad_of(triplet, e)
out["triplet"] = {"embeddings": flat(e), "shape": [8, 4], "labels": labels, "margin": margin, "loss": v, "grad": g}

path = os.path.join(os.path.dirname(__file__), "train", "losses.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
print("wrote", path)
