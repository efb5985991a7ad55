"""Writes the small checkpoint fixtures the Weights tests read, and the values they must decode to.

Run with the oracle venv:  /root/.cache/deepscope-oracle/venv/bin/python Tests/Fixtures/make_weights_files.py
Every file is written by the real library (torch.save in both serialisation formats, safetensors, numpy), so the
Swift readers are checked against what users' files really contain. Output: Tests/Fixtures/weights/.
"""
import argparse
import collections
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)

DTYPE_NAMES = {
    torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16", torch.float64: "float64",
    torch.int8: "int8", torch.int16: "int16", torch.int32: "int32", torch.int64: "int64",
    torch.uint8: "uint8", torch.bool: "bool",
}


class TinyNet(nn.Module):
    """Conv + BN + linear + a nested Sequential: enough structure for dotted keys and buffers."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3)
        self.bn1 = nn.BatchNorm2d(4)
        self.fc = nn.Linear(8, 2)
        self.head = nn.Sequential(nn.Linear(2, 2), nn.PReLU())
        # state_dict() leaves non-persistent buffers out; the module walker must do the same.
        self.register_buffer("scratch", torch.zeros(3), persistent=False)


def describe(entries):
    out = []
    for name, t in entries:
        out.append({
            "name": name,
            "dtype": DTYPE_NAMES[t.dtype],
            "shape": list(t.shape),
            "data": [float(v) for v in t.detach().to(torch.float64).to(torch.float32).reshape(-1).tolist()],
        })
    return out


def save_both(obj, stem):
    torch.save(obj, os.path.join(OUT, stem + "_zip.pt"))
    torch.save(obj, os.path.join(OUT, stem + "_legacy.pt"), _use_new_zipfile_serialization=False)


expected = {}

# MARK: plain state dict, and the same model pickled whole
net = TinyNet()
with torch.no_grad():
    net.bn1.running_mean.uniform_(-1, 1)
    net.bn1.running_var.uniform_(0.5, 2)
    net.bn1.num_batches_tracked.fill_(7)
sd = net.state_dict()
save_both(sd, "state")
save_both(net, "module")
for fmt in ("zip", "legacy"):
    expected[f"state_{fmt}.pt"] = describe(sd.items())
    expected[f"module_{fmt}.pt"] = describe(sd.items())

# MARK: a training checkpoint: DataParallel prefixes, optimizer state, an argparse Namespace beside the weights
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
loss = net.fc(torch.randn(1, 8)).sum()
loss.backward()
opt.step()
wrapped = collections.OrderedDict(("module." + k, v) for k, v in net.state_dict().items())
ckpt = {
    "epoch": 3,
    "args": argparse.Namespace(lr=1e-3, arch="tiny"),
    "net": wrapped,
    "opt": opt.state_dict(),
    "val_loss": 0.25,
}
save_both(ckpt, "nested")
for fmt in ("zip", "legacy"):
    expected[f"nested_{fmt}.pt"] = describe(net.state_dict().items())

# MARK: every dtype, non-contiguous views, shared storage with offsets
base = torch.arange(24, dtype=torch.float32) * 0.5 - 3
dtypes = collections.OrderedDict()
dtypes["f32"] = torch.randn(2, 3)
dtypes["f16"] = torch.randn(3, 2).to(torch.float16)
dtypes["bf16"] = torch.randn(5).to(torch.bfloat16)
dtypes["f64"] = torch.randn(2, 2, dtype=torch.float64)
dtypes["i8"] = torch.tensor([-128, -1, 0, 5, 127], dtype=torch.int8)
dtypes["i16"] = torch.tensor([-32768, 300, 32767], dtype=torch.int16)
dtypes["i32"] = torch.tensor([[-70000, 1], [2, 70000]], dtype=torch.int32)
dtypes["i64"] = torch.tensor([-(2 ** 40), 0, 2 ** 40, 12345], dtype=torch.int64)
dtypes["u8"] = torch.tensor([0, 1, 200, 255], dtype=torch.uint8)
dtypes["bool"] = torch.tensor([True, False, True], dtype=torch.bool)
dtypes["scalar"] = torch.tensor(2.5)
dtypes["empty"] = torch.zeros(0, 3)
dtypes["transposed"] = torch.randn(3, 4).t()                  # strides (1, 4)
dtypes["permuted"] = torch.randn(2, 3, 4).permute(2, 0, 1)    # strides (1, 12, 4)
dtypes["shared_head"] = base[2:8].view(2, 3)                  # offset 2 into a storage shared with the next two
dtypes["shared_tail"] = base[10:22].view(3, 4)[:, 1:3]        # offset 11, strides (4, 1): a strided window
dtypes["shared_step"] = base[1::5]                            # stride 5
dtypes["expanded"] = torch.tensor([1.5, -2.0]).view(2, 1).expand(2, 3)  # stride 0
dtypes["f16_transposed"] = torch.randn(2, 3).to(torch.float16).t()
save_both(dtypes, "dtypes")
for fmt in ("zip", "legacy"):
    expected[f"dtypes_{fmt}.pt"] = describe(dtypes.items())

# MARK: a big-endian copy of the zip checkpoint, as torch.save writes on s390x: byteorder "big", storages swapped


def storage_types(pickle_bytes):
    """Storage key -> element size, read from data.pkl's persistent ids (GLOBAL 'torch XStorage', then the key)."""
    import pickletools
    sizes = {"Float": 4, "Half": 2, "BFloat16": 2, "Double": 8, "Char": 1, "Short": 2, "Int": 4, "Long": 8,
             "Byte": 1, "Bool": 1}
    memo, found, pending, last = {}, {}, None, None
    for op, arg, _ in pickletools.genops(pickle_bytes):
        value = None
        if op.name == "GLOBAL" and arg.startswith("torch ") and arg.endswith("Storage"):
            value = sizes[arg[len("torch "):-len("Storage")]]
            pending = value
        elif op.name in ("BINGET", "LONG_BINGET") and arg in memo:
            pending = memo[arg]
        elif op.name in ("BINUNICODE", "SHORT_BINUNICODE") and pending is not None:
            found.setdefault(arg, pending)
            pending = None
        elif op.name in ("BINPUT", "LONG_BINPUT") and last is not None:
            memo[arg] = last
        last = value
    return found


def big_endian_copy(source, target):
    import zipfile
    with zipfile.ZipFile(source) as z:
        folder = z.namelist()[0].split("/")[0]
        sizes = storage_types(z.read(folder + "/data.pkl"))
        with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as out:
            for info in z.infolist():
                data = z.read(info)
                name = info.filename[len(folder) + 1:]
                if name == "byteorder":
                    data = b"big"
                elif name.startswith("data/"):
                    size = sizes[name[len("data/"):]]
                    data = np.frombuffer(data, dtype=f"u{size}").byteswap().tobytes()
                out.writestr(info.filename.replace(folder, "dtypes_big", 1), data)


big_endian_copy(os.path.join(OUT, "dtypes_zip.pt"), os.path.join(OUT, "dtypes_big.pt"))
assert all(torch.equal(a, b) for a, b in zip(torch.load(os.path.join(OUT, "dtypes_big.pt")).values(), dtypes.values()))
expected["dtypes_big.pt"] = describe(dtypes.items())

# MARK: a TorchScript archive, which deepscope refuses with a clear message
torch.jit.save(torch.jit.script(nn.Linear(2, 1)), os.path.join(OUT, "torchscript.pt"))

# MARK: safetensors (contiguous tensors only; the file order is by data offset)
st = collections.OrderedDict((k, v.contiguous()) for k, v in dtypes.items() if k not in ("expanded",))
st = {k: v for k, v in st.items() if not k.startswith("shared")}
save_file(st, os.path.join(OUT, "tensors.safetensors"), metadata={"format": "pt", "origin": "make_weights_files.py"})
with open(os.path.join(OUT, "tensors.safetensors"), "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
header.pop("__metadata__")
order = sorted(header, key=lambda k: header[k]["data_offsets"][0])
expected["tensors.safetensors"] = describe((k, st[k]) for k in order)
expected["tensors.safetensors.metadata"] = {"format": "pt", "origin": "make_weights_files.py"}

# MARK: .npy in the layouts numpy writes
rng = np.random.default_rng(0)
npys = {
    "f32.npy": (rng.standard_normal((2, 3, 4)).astype(np.float32), None),
    "f64_fortran.npy": (np.asfortranarray(rng.standard_normal((3, 5))), None),
    "i64.npy": (np.array([[1, -2, 3], [2 ** 33, 0, -7]], dtype=np.int64), None),
    "u8.npy": (np.arange(10, dtype=np.uint8) * 25, None),
    "f16_big_endian.npy": (rng.standard_normal(6).astype(">f2"), None),
    "bool.npy": (np.array([True, False, False, True]), None),
    "scalar.npy": (np.array(3.25, dtype=np.float32), None),
    "v2.npy": (rng.standard_normal((4, 2)).astype(np.float32), (2, 0)),
}
for name, (arr, version) in npys.items():
    with open(os.path.join(OUT, name), "wb") as f:
        np.lib.format.write_array(f, arr, version=version)
    expected[name] = [{
        "name": "", "dtype": {"f": {2: "float16", 4: "float32", 8: "float64"}, "i": {8: "int64"}, "u": {1: "uint8"},
                              "b": {1: "bool"}}[arr.dtype.kind][arr.dtype.itemsize],
        "shape": list(arr.shape),
        "data": [float(v) for v in np.ascontiguousarray(arr).astype(np.float32).reshape(-1).tolist()],
    }]

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, sort_keys=True, separators=(",", ":"))
    f.write("\n")
print("wrote", sorted(os.listdir(OUT)))
