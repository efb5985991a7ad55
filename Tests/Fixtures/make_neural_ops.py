"""Golden outputs and gradients for the Neural engine's primitive ops, from PyTorch (CPU, float32).

Run in the oracle venv:  python Tests/Fixtures/make_neural_ops.py
Writes Tests/Fixtures/neural/ops.json (cases: op, parameters, tensor names) and ops.bin (float32 little-endian
tensors, offsets in the JSON). For every case the loss is sum(output * seed) with a random seed, so the stored
gradients are the vector-Jacobian products the engine's backward must reproduce.
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(1234)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "neural")
tensors = {}   # name -> np.float32 array
cases = []


def put(name, t):
    tensors[name] = t.detach().contiguous().numpy().astype(np.float32)
    return name


def case(name, op, fn, inputs, params=None, grad=True):
    """Runs fn(**inputs) and records output and, when grad, d(sum(out*seed))/d(each input)."""
    leaves = {k: v.clone().requires_grad_(grad) for k, v in inputs.items()}
    out = fn(**leaves)
    entry = {"name": name, "op": op, "params": params or {},
             "inputs": {k: put(f"{name}.{k}", v) for k, v in leaves.items()},
             "output": put(f"{name}.out", out)}
    if grad:
        seed = torch.randn_like(out)
        (out * seed).sum().backward()
        entry["seed"] = put(f"{name}.seed", seed)
        entry["grads"] = {k: put(f"{name}.d{k}", v.grad) for k, v in leaves.items() if v.grad is not None}
    cases.append(entry)


r = torch.randn

# MARK: conv2d (padding given as top, bottom, left, right; asymmetric padding is F.pad then a valid conv)
def conv(pad, stride=1, dilation=1, groups=1):
    def fn(x, w, b=None):
        t, bo, l, ri = pad
        return F.conv2d(F.pad(x, (l, ri, t, bo)), w, b, stride=stride, dilation=dilation, groups=groups)
    return fn

def conv_case(name, x, w, b, pad, stride=1, dilation=1, groups=1):
    inputs = {"x": x, "w": w}
    if b is not None:
        inputs["b"] = b
    case(name, "conv2d", conv(pad, stride, dilation, groups), inputs,
         {"pad": list(pad), "stride": stride, "dilation": dilation, "groups": groups})

conv_case("conv3x3", r(2, 3, 7, 6), r(4, 3, 3, 3), r(4), (1, 1, 1, 1))
conv_case("conv_s2_asym", r(1, 3, 9, 8), r(5, 3, 3, 3), None, (0, 1, 0, 1), stride=2)
conv_case("conv_dil_groups", r(1, 4, 9, 9), r(6, 2, 3, 3), r(6), (2, 2, 1, 1), dilation=2, groups=2)
conv_case("conv1x1", r(2, 5, 4, 3), r(3, 5, 1, 1), None, (0, 0, 0, 0))
conv_case("dw3x3", r(1, 6, 8, 7), r(6, 1, 3, 3), r(6), (1, 1, 1, 1), groups=6)
conv_case("dw5x5_s2", r(2, 4, 11, 10), r(4, 1, 5, 5), r(4), (1, 2, 1, 2), stride=2, groups=4)
conv_case("dw_mult2", r(1, 3, 6, 6), r(6, 1, 3, 3), None, (1, 1, 1, 1), groups=3)
conv_case("conv_rect", r(1, 2, 7, 9), r(3, 2, 3, 1), r(3), (0, 0, 2, 1), stride=(2, 1))

# MARK: batch norm
def bn_eval(x, g, b):
    return F.batch_norm(x, BN_MEAN, BN_VAR, g, b, training=False, eps=1e-3)
BN_MEAN, BN_VAR = r(4), r(4).abs() + 0.5
put("bn_eval.mean", BN_MEAN); put("bn_eval.var", BN_VAR)
case("bn_eval", "batchNorm", bn_eval, {"x": r(2, 4, 3, 5), "g": r(4), "b": r(4)}, {"eps": 1e-3})

def bn_train(x, g, b):
    return F.batch_norm(x, None, None, g, b, training=True, eps=1e-5)
case("bn_train", "batchNormTraining", bn_train, {"x": r(3, 4, 3, 2), "g": r(4), "b": r(4)}, {"eps": 1e-5})

# MARK: linear
case("linear", "linear", lambda x, w, b: F.linear(x, w, b), {"x": r(3, 7), "w": r(5, 7), "b": r(5)})

# MARK: activations (values kept away from kinks so autograd's choice there does not matter)
act_x = r(2, 3, 4, 5) * 3
act_x = torch.where(act_x.abs() < 0.05, act_x + 0.1, act_x)
act_x = torch.where((act_x - 6).abs() < 0.05, act_x + 0.1, act_x)
for name, fn in [("relu", F.relu), ("relu6", F.relu6), ("silu", F.silu), ("sigmoid", torch.sigmoid),
                 ("tanh", torch.tanh), ("leaky", lambda x: F.leaky_relu(x, 0.2))]:
    case(name, name, lambda x, fn=fn: fn(x), {"x": act_x * (2.5 if name == "relu6" else 1)}, {"slope": 0.2})
case("prelu", "prelu", lambda x, a: F.prelu(x, a), {"x": act_x, "a": r(3) * 0.3})

# MARK: broadcasting
case("add_nc11", "add", lambda a, b: a + b, {"a": r(2, 3, 4, 5), "b": r(2, 3, 1, 1)})
case("mul_nc11", "multiply", lambda a, b: a * b, {"a": r(2, 3, 4, 5), "b": r(2, 3, 1, 1)})
case("mul_n1hw", "multiply", lambda a, b: a * b, {"a": r(2, 1, 4, 5), "b": r(2, 3, 4, 5)})
case("sub_row", "subtract", lambda a, b: a - b, {"a": r(2, 3, 4, 5), "b": r(5)})

# MARK: pooling
def pool_case(name, op, x, kernel, stride, padding, ceil, include=True):
    if op == "maxPool2d":
        fn = lambda x: F.max_pool2d(x, kernel, stride, padding, ceil_mode=ceil)
    else:
        fn = lambda x: F.avg_pool2d(x, kernel, stride, padding, ceil_mode=ceil, count_include_pad=include)
    case(name, op, fn, {"x": x}, {"kernel": kernel, "stride": stride, "padding": padding, "ceil": ceil,
                                  "countIncludePad": include})

pool_case("maxpool_3_2_1_ceil", "maxPool2d", r(1, 2, 9, 8), 3, 2, 1, True)
pool_case("maxpool_2_2", "maxPool2d", r(2, 2, 7, 6), 2, 2, 0, False)
pool_case("avgpool_3_2_1_ceil_excl", "avgPool2d", r(1, 2, 9, 8), 3, 2, 1, True, False)
pool_case("avgpool_3_2_1_incl", "avgPool2d", r(1, 2, 8, 7), 3, 2, 1, False, True)
pool_case("avgpool_3_2_0_ceil_incl", "avgPool2d", r(1, 2, 8, 8), 3, 2, 0, True, True)
case("adaptive_3x4", "adaptiveAvgPool2d", lambda x: F.adaptive_avg_pool2d(x, (3, 4)), {"x": r(1, 2, 7, 9)},
     {"size": [3, 4]})
case("gap", "adaptiveAvgPool2d", lambda x: F.adaptive_avg_pool2d(x, 1), {"x": r(2, 3, 5, 4)}, {"size": [1, 1]})

# MARK: resize
def resize_case(name, x, size=None, scale=None, align=None, mode="bilinear"):
    fn = lambda x: F.interpolate(x, size=size, scale_factor=scale, mode=mode, align_corners=align)
    case(name, "resize", fn, {"x": x}, {"size": list(size) if size else None, "scale": scale,
                                       "alignCorners": bool(align), "mode": mode})

resize_case("bilinear_up_false", r(1, 2, 4, 5), size=(7, 11), align=False)
resize_case("bilinear_up_true", r(1, 2, 4, 5), size=(7, 11), align=True)
resize_case("bilinear_down_false", r(1, 2, 9, 7), size=(4, 3), align=False)
resize_case("bilinear_scale_1_5", r(1, 2, 5, 6), scale=1.5, align=False)
resize_case("bilinear_scale_0_6_true", r(1, 1, 10, 8), scale=0.6, align=True)
resize_case("nearest_up", r(1, 2, 3, 4), size=(7, 9), mode="nearest")

# MARK: softmax and shape ops
case("softmax_c", "softmax", lambda x: F.softmax(x, 1), {"x": r(2, 5, 3)}, {"axis": 1})
case("logsoftmax_last", "logSoftmax", lambda x: F.log_softmax(x, -1), {"x": r(3, 6) * 3}, {"axis": -1})
case("concat_c", "concat", lambda a, b: torch.cat([a, b], 1), {"a": r(2, 3, 2, 3), "b": r(2, 2, 2, 3)}, {"axis": 1})
case("permute", "permute", lambda x: x.permute(0, 2, 3, 1), {"x": r(2, 3, 4, 5)}, {"order": [0, 2, 3, 1]})
case("pad_const", "pad", lambda x: F.pad(x, (1, 2, 0, 3), value=0.5), {"x": r(1, 2, 3, 4)},
     {"pad": [0, 3, 1, 2], "value": 0.5})
case("mean_hw", "mean", lambda x: x.mean(dim=(2, 3), keepdim=True), {"x": r(2, 3, 4, 5)}, {"axes": [2, 3]})

# MARK: elementwise math
case("exp", "exp", torch.exp, {"x": r(2, 3, 4)})
case("log", "log", torch.log, {"x": r(2, 3, 4).abs() + 0.3})
case("sqrt", "sqrt", torch.sqrt, {"x": r(2, 3, 4).abs() + 0.3})
case("softplus", "softplus", F.softplus, {"x": r(2, 3, 4) * 8})
case("l2norm", "l2Normalize", lambda x: F.normalize(x, dim=1), {"x": r(3, 5, 2)}, {"axis": 1})

# MARK: write
offset, blob, index = 0, [], {}
for name, arr in tensors.items():
    index[name] = {"shape": list(arr.shape), "offset": offset, "count": int(arr.size)}
    blob.append(arr.astype("<f4").tobytes())
    offset += arr.size
os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, "ops.bin"), "wb") as f:
    f.write(b"".join(blob))
with open(os.path.join(OUT, "ops.json"), "w") as f:
    json.dump({"torch": torch.__version__, "tensors": index, "cases": cases}, f, indent=0, sort_keys=True)
print(f"{len(cases)} cases, {offset * 4} bytes of tensors")
