#!/usr/bin/python3
"""export_check.py -- checks of `samc export` and `samc predict --logits`,
run by tests/cli_export.sh with the Debian interpreter (numpy, torch).

    export_check.py files CKPT FOLDER FILE.safetensors
    export_check.py torch CASES      (a line per model: CKPT FOLDER FILE SPEC C H W K XTEST.npy LOGITS.npy)

1. The checkpoint is read at its byte offsets (src/train/ckpt.c), the
   safetensors file by a plain parse written here (8-byte little-endian
   header length, JSON header, raw data), the folder by numpy; both exports
   hold the same names, dtypes, shapes and values, and their float arrays in
   data order -- parameters, and the running statistics apart -- are the
   checkpoint's parameters and buffers, bit for bit.
2. torch: for each model, 1., then the PyTorch definition of that model in
   tools/ (SPEC's entry of TORCH_MODELS) loads the safetensors export and
   then the folder with load_state_dict(strict=True), and its logits on XTEST
   in evaluation mode equal samc's (LOGITS) to 1e-5 of their largest
   magnitude.  Prints the largest difference per model.  One process for all
   models (importing torch takes seconds).
"""
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))


def read_ckpt(path):
    b = open(path, "rb").read()
    assert b[:8] == b"SAMCCKPT", "not a checkpoint"
    hsize = struct.unpack_from("<I", b, 12)[0]
    step = struct.unpack_from("<q", b, 288)[0]
    npar, nbuf = struct.unpack_from("<QQ", b, 400)
    params = np.frombuffer(b, "<f4", npar, hsize)
    buffers = np.frombuffer(b, "<f4", nbuf, hsize + 4 * npar)
    return params, buffers, step


def read_safetensors(path):
    """name -> array, in data order (the order of data_offsets)."""
    b = open(path, "rb").read()
    (hlen,) = struct.unpack_from("<Q", b, 0)
    header = json.loads(b[8:8 + hlen].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    assert meta.get("format") == "pt", meta
    data = b[8 + hlen:]
    dtypes = {"F32": "<f4", "I64": "<i8"}
    out, end = {}, 0
    for name, t in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        lo, hi = t["data_offsets"]
        assert lo == end, (name, lo, end)   # contiguous, no gaps
        dt = np.dtype(dtypes[t["dtype"]])
        count = int(np.prod(t["shape"], dtype=np.int64))
        assert hi - lo == count * dt.itemsize, name
        out[name] = np.frombuffer(data, dt, count, lo).reshape(t["shape"])
        end = hi
    assert end == len(data), "trailing bytes"
    return out


def check_files(ckpt, folder, st_path):
    params, buffers, step = read_ckpt(ckpt)
    st = read_safetensors(st_path)
    files = sorted(f[:-4] for f in os.listdir(folder) if f.endswith(".npy"))
    assert files == sorted(st), (files, sorted(st))
    for name, a in st.items():
        b = np.load(os.path.join(folder, name + ".npy"))
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), name
    is_buf = lambda n: n.endswith(".running_mean") or n.endswith(".running_var")
    floats = [n for n in st if st[n].dtype == np.float32]
    p = np.concatenate([st[n].ravel() for n in floats if not is_buf(n)])
    assert p.tobytes() == params.tobytes(), "parameters differ from the checkpoint"
    bufs = [st[n].ravel() for n in floats if is_buf(n)]
    assert (np.concatenate(bufs) if bufs else np.zeros(0, np.float32)).tobytes() == buffers.tobytes()
    for n in st:
        if n.endswith("num_batches_tracked"):
            assert st[n].dtype == np.int64 and st[n].shape == () and int(st[n]) == step, n
    return st


def linear_module(d, k):
    import torch.nn as nn

    class Linear(nn.Linear):   # the convex models: one nn.Linear on flat rows
        def forward(self, x):
            return super().forward(x.flatten(1))

    return Linear(d, k)


# spec -> the PyTorch definition (C, H, W, K: the data's image shape, classes)
def torch_model(spec, C, H, W, K):
    import make_torch_fixtures as f
    kind, _, arg = spec.partition(":")
    TORCH_MODELS = {
        "logreg": lambda: linear_module(C * H * W, 1),
        "softmax": lambda: linear_module(C * H * W, K),
        "mlp": lambda: f.MLP(C * H * W, [int(h) for h in arg.split(",")], K),
        "cnn": lambda: f.CNN(C, H, W, K),
        "resnet": lambda: f.ResNet(int(arg), C, K),
        "resnet18": lambda: f.ResNet18(C, K),
        "wrn": lambda: f.WideResNet(*[int(v) for v in arg.split("-")], C, K),
    }
    return TORCH_MODELS[kind]()


def check_torch(st, folder, spec, C, H, W, K, xtest, logits):
    import torch
    model = torch_model(spec, C, H, W, K)
    from_folder = {f[:-4]: torch.from_numpy(np.load(os.path.join(folder, f))) for f in os.listdir(folder)}
    model.load_state_dict(from_folder, strict=True)
    state = {n: torch.from_numpy(np.array(a)) for n, a in st.items()}
    model.load_state_dict(state, strict=True)
    model.eval()
    x = torch.from_numpy(np.load(xtest).astype(np.float32)).reshape(-1, C, H, W)
    with torch.no_grad():
        z = model(x).numpy().reshape(-1)
    want = np.load(logits).reshape(-1)
    diff = float(np.max(np.abs(z - want)))
    scale = max(1.0, float(np.max(np.abs(want))))
    print("%s: max |logit difference| %.3g (scale %.3g), %d logits" % (spec, diff, scale, want.size))
    assert diff <= 1e-5 * scale, diff


def main():
    if sys.argv[1] == "files":
        check_files(*sys.argv[2:5])
        return
    for line in open(sys.argv[2]):
        ckpt, folder, st_path, spec, C, H, W, K, xtest, logits = line.split()
        st = check_files(ckpt, folder, st_path)
        check_torch(st, folder, spec, int(C), int(H), int(W), int(K), xtest, logits)


if __name__ == "__main__":
    main()
