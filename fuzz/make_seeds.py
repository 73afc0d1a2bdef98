#!/usr/bin/env python3
"""Seed corpora of the fuzz targets (tools/fuzz.sh runs this).

    make_seeds.py CORPUS [--cli NORMOUT] [--cache DIR] [--resources DIR]

writes CORPUS/<target>/ for every target. The run-file seeds come from a real run: with --cli,
a tiny run is trained, stopped after two steps and resumed (`normout train --max-steps 2`, then
`normout resume`), which gives a first segment, a continuation segment and the analysis sidecar
(attacks, masking diagnosis, Fisher-Rao norm); the files are encoded object by object in the
"NRF1" format of fuzz_run_file.cpp, so mutations start from a valid run. The run is kept in
--cache and trained again only when the program changes. Without a program (or when it fails),
a small run file written here with h5py stands in. Run-file seeds need h5py (python3-h5py).
"""
import argparse
import gzip
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import zlib

TINY = ["--preset", "quick", "--set", "model.width=0.0625", "--set", "model.hidden=32",
        "--set", "data.train_limit=256", "--set", "data.test_limit=128", "--set", "train.epochs=1",
        "--set", "train.batch_size=64", "--set", "evaluate.attacks=fgsm", "--set", "evaluate.attack_n=32",
        "--set", "evaluate.flatness_n=32"]


def put(corpus, target, name, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def note(text):
    print("make_seeds: " + text, file=sys.stderr)


# ------------------------------------------------------------------ the CLI

def sandbox_env(home):
    env = dict(os.environ)
    env["HOME"] = os.path.join(home, "home")
    env["XDG_DATA_HOME"] = os.path.join(home, "share")
    env.pop("NORMOUT_DATA", None)
    os.makedirs(env["HOME"], exist_ok=True)
    return env


def cli_output(cli, args, home):
    try:
        r = subprocess.run([cli] + args, env=sandbox_env(home), cwd=home, capture_output=True, text=True,
                           timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        note(f"{cli} {' '.join(args)}: {e}")
        return None
    if r.returncode != 0:
        note(f"{cli} {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()[-300:]}")
        return None
    return r.stdout


def real_run(cli, cache):
    """A stopped and resumed tiny run in cache/run: X.h5, X.resume-1.h5, X.analysis.hdf5."""
    st = os.stat(cli)
    key = f"{cli} {st.st_size} {int(st.st_mtime)}"
    run_dir = os.path.join(cache, "run")
    stamp = os.path.join(cache, "run.key")
    if os.path.exists(stamp) and open(stamp).read() == key and os.path.exists(os.path.join(run_dir, "X.h5")):
        return run_dir
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)
    note("training a tiny run for the run-file seeds (stopped after 2 steps, then resumed)")
    if cli_output(cli, ["train"] + TINY + ["--out", "X.h5", "--max-steps", "2", "--quiet"], run_dir) is None:
        return None
    if cli_output(cli, ["resume", "X.h5", "--quiet"], run_dir) is None:
        return None
    with open(stamp, "w") as f:
        f.write(key)
    return run_dir


# ------------------------------------------------------------------ the "NRF1" encoding

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def s(b):
    if isinstance(b, str):
        b = b.encode()
    return varint(len(b)) + b


class Encoder:
    RAW_LIMIT = 2048  # larger numeric contents are written as a repeated pattern of their first bytes

    def __init__(self, h5py):
        self.h5py = h5py
        self.out = bytearray()

    def type_bytes(self, tid):
        h5t = self.h5py.h5t
        cls = tid.get_class()
        if cls == h5t.STRING:
            opts = (16 if tid.get_cset() == h5t.CSET_UTF8 else 0)
            opts |= {h5t.STR_NULLTERM: 0, h5t.STR_NULLPAD: 1, h5t.STR_SPACEPAD: 2}.get(tid.get_strpad(), 0) << 5
            if tid.is_variable_str():
                return bytes([opts]), "vlen"
            return bytes([1 | opts]) + varint(tid.get_size() - 1), "fixed"
        size, order = tid.get_size(), tid.get_order()
        le = order == h5t.ORDER_LE
        if cls == h5t.INTEGER:
            signed = tid.get_sign() == h5t.SGN_2
            code = {(8, True, True): 2, (4, True, True): 3, (1, False, True): 4, (8, False, True): 7,
                    (8, True, False): 8, (2, True, True): 10, (4, False, True): 18, (2, False, True): 19,
                    (1, True, True): 20, (4, False, False): 22, (4, True, False): 23, (8, False, False): 24,
                    (2, True, False): 25}.get((size, signed, le))
        elif cls == h5t.FLOAT:
            code = {(8, True): 5, (4, True): 6, (8, False): 9, (4, False): 21}.get((size, le))
        else:
            code = None
        return (bytes([code]), "number") if code is not None else (None, None)

    def space_bytes(self, shape):
        if shape is None:
            return bytes([7])
        assert len(shape) <= 6
        return bytes([len(shape)]) + b"".join(varint(d) for d in shape)

    def data_bytes(self, kind, value, type_size):
        import numpy as np
        if value is None:
            return bytes([1])
        arr = np.asarray(value)
        if kind in ("vlen", "fixed"):
            items = arr.reshape(-1).tolist() if arr.shape else [arr.item()]
            enc = []
            for v in items:
                if isinstance(v, str):
                    v = v.encode()
                enc.append(bytes(v).rstrip(b"\0") if kind == "fixed" else bytes(v))
            return bytes([0 if kind == "vlen" else 3]) + b"".join(s(v) for v in enc)
        raw = np.ascontiguousarray(arr).tobytes()  # in the byte order of the file (h5py keeps it)
        if len(raw) <= self.RAW_LIMIT:
            return bytes([0]) + raw
        return bytes([2]) + s(raw[:64])

    def file(self, index):
        self.out += bytes([0, index])

    def attributes(self, path, obj):
        for name in obj.attrs:
            aid = obj.attrs.get_id(name)
            tb, kind = self.type_bytes(aid.get_type())
            if tb is None:
                note(f"attribute {name} of {path or '/'}: type not encoded, left out")
                continue
            space = aid.get_space()
            shape = None if space.get_simple_extent_type() == self.h5py.h5s.NULL else space.shape
            value = None if shape is None else obj.attrs[name]
            self.out += bytes([2]) + s(path) + s(name) + tb + self.space_bytes(shape)
            self.out += self.data_bytes(kind, value, aid.get_type().get_size())

    def dataset(self, path, d):
        tb, kind = self.type_bytes(d.id.get_type())
        if tb is None:
            note(f"dataset {path}: type not encoded, left out")
            return
        plist = d.id.get_create_plist()
        layout = plist.get_layout()
        h5d = self.h5py.h5d
        if layout == h5d.CHUNKED:
            code = 2 if plist.get_nfilters() else 1
        elif layout == h5d.COMPACT:
            code = 3
        else:
            code = 0
        shape = d.shape
        value = d[()] if shape is not None else None
        self.out += bytes([3]) + s(path) + tb + self.space_bytes(shape) + bytes([code])
        self.out += self.data_bytes(kind, value, d.id.get_type().get_size())

    # The weights of the tiny model are ~100 arrays; every reader lists them and read_weights
    # reads them all, so the seeds keep only a few (a file's first layers, a BatchNorm counter and
    # the input normalisation): the same code runs, several times faster.
    KEEP_WEIGHTS = ("weights/layers.0.weight", "weights/layers.0.bias", "weights/layers.1.running_mean",
                    "weights/layers.1.num_batches_tracked", "weights/input_mean", "weights/input_std")

    def kept_weights(self, f):
        return [n for n in self.KEEP_WEIGHTS if n in f]

    def hdf5(self, index, path):
        self.file(index)
        with self.h5py.File(path, "r") as f:
            self.attributes("", f)

            kept = set(self.kept_weights(f))

            def visit(name, obj):
                if isinstance(obj, self.h5py.Dataset):
                    if name.startswith("weights/") and name not in kept:
                        return
                    self.dataset(name, obj)
                else:
                    self.out += bytes([1]) + s(name)
                self.attributes(name, obj)

            f.visititems(visit)

    def json_file(self, user, name, text):
        self.out += bytes([5, 1 if user else 0]) + s(name) + s(text)

    def bytes(self, flags):
        return b"NRF1" + bytes([flags]) + bytes(self.out)


def run_seed(h5py, flags, files, unsaved=()):
    """files: (index, path) in order; unsaved: (user folder?, name, JSON text)."""
    e = Encoder(h5py)
    for index, path in files:
        if os.path.exists(path):
            e.hdf5(index, path)
    for user, name, text in unsaved:
        e.json_file(user, name, text)
    return e.bytes(flags)


# flags of fuzz_run_file.cpp's "NRF1" inputs
ACCURACY, ACTIVATIONS, ATTACKS, FLATNESS = 0, 1, 2, 3
LATEST, EPOCHS, L2 = 4, 8, 16


def unsaved_json(run_id):
    """Unsaved analysis results as AnalysisWriter keeps them when the sidecar cannot be written."""
    batch = {"tables": {"flatness": [{"numbers": {"value": 0.5, "standard_error": "nan", "n": 32, "epoch": 1},
                                      "texts": {"measure": "fisher_rao_empirical", "params": "all"}}],
                        "attacks": [{"numbers": {"accuracy": 0.25, "ci_low": 0.1, "ci_high": 0.4, "eps": "inf"},
                                     "texts": {"attack": "fgsm", "norm": "linf"}}]},
             "arrays": {"flatness_landscape_1d_loss": {"shape": [3], "values": [1.0, 0.5, "-inf"],
                                                       "attributes": {"kind": "1d", "axes": "x"}}}}
    return json.dumps({"format": "normout-analysis-unsaved", "version": 1, "run": "run.h5", "run_id": run_id,
                       "sidecar": "run.analysis.hdf5", "reason": "disk full", "created_utc": "2026-01-01T00:00:00Z",
                       "host": "fuzz", "pid": 1, "analysis": batch})


def synthetic_run(h5py, path):
    """A small valid run file (docs/run-file.md) with one instrumented layer and a sidecar."""
    import numpy as np
    vlen = h5py.string_dtype()
    with h5py.File(path, "w", libver="latest") as f:
        a = f.attrs
        for k, v in {"format": "normout-run", "run_id": "synthetic-run", "name": "synthetic", "preset": "quick",
                     "config": json.dumps({"name": "synthetic", "train": {"seed": 1}}), "code_version": "seed",
                     "created_utc": "2026-01-01T00:00:00Z", "torch_version": "-", "hdf5_version": "1.10",
                     "device": "cpu", "host": "fuzz"}.items():
            a.create(k, v, dtype=vlen)
        for k, v in {"schema_version": 1, "start_unix_ms": 0, "pid": 1, "segment": 0, "resumed_from_step": 0,
                     "resumed_epoch_rows": 0}.items():
            a.create(k, v, dtype="int64")
        for k, size, v in (("status", 32, b"finished"), ("status_message", 1024, b""), ("finished_utc", 32, b"x")):
            f.create_dataset(k, data=np.array(v, dtype=f"S{size}"))
        for k, v in (("status_step", 2), ("heartbeat_unix_ms", 0), ("weights_step", 2)):
            f.create_dataset(k, data=np.int64(v))
        d = f.create_group("data")
        for k, v in {"dataset": "fashion-mnist", "source": "/data"}.items():
            d.attrs.create(k, v, dtype=vlen)
        d.attrs.create("class_names", ["a", "b"], dtype=vlen)
        d.attrs["mean"] = np.array([0.5], dtype="f4")
        d.attrs["std"] = np.array([0.25], dtype="f4")
        for k, v in {"train_count": 4, "val_count": 0, "test_count": 4, "channels": 1, "height": 32,
                     "width": 32}.items():
            d.attrs.create(k, v, dtype="int64")
        m = f.create_group("model")
        m.attrs.create("layer_kinds", ["Linear", "NormOut"], dtype=vlen)
        m.attrs.create("layer_descriptions", ["Linear(in_features=4, out_features=2, bias=True)",
                                              "NormOut(temporal-max)"], dtype=vlen)
        m.attrs.create("parameter_count", 10, dtype="int64")

        def series(group, name, values):
            group.create_dataset(name, data=np.array(values, dtype="f8"), maxshape=(None,), chunks=(64,))

        ep = f.create_group("metrics/epoch")
        for k in ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy",
                  "learning_rate", "epoch_seconds", "wall_seconds", "images_per_second", "generalisation_gap"):
            series(ep, k, [1.0])
        st = f.create_group("metrics/step")
        for k in ("global_step", "epoch", "loss", "accuracy", "learning_rate", "wall_seconds"):
            series(st, k, [1.0, 2.0])
        ins = f.create_group("instrument")
        ins.attrs["layers"] = np.array([1], dtype="i8")
        ins.attrs.create("every", 1, dtype="int64")
        ins.attrs.create("histogram_bins", 4, dtype="int64")
        ins.attrs.create("keep_histogram_bins", 20, dtype="int64")
        ins.attrs["ewma_alpha"] = np.array([0.02], dtype="f4")
        layer = ins.create_group("layer_1")
        layer.attrs.create("index", 1, dtype="int64")
        layer.attrs.create("kind", "NormOut", dtype=vlen)
        layer.attrs.create("description", "NormOut(temporal-max)", dtype=vlen)
        layer.attrs.create("units", 2, dtype="int64")
        layer.attrs.create("keep", 1, dtype="int64")
        layer.attrs["neurons"] = np.array([0, 1], dtype="i8")
        steps = layer.create_group("steps")
        names = ["global_step"] + [f"{side}_{stat}{suffix}" for side in ("input", "output")
                                   for stat in ("mean", "max", "std", "var", "sparsity") for suffix in ("", "_ewma")]
        names += [f"keep_{stat}{suffix}" for stat in ("mean_p", "expected_drop", "realised_drop", "frac_p_low",
                                                        "frac_p_high") for suffix in ("", "_ewma")]
        for k in names:
            series(steps, k, [1.0, 2.0])
        epochs = layer.create_group("epochs")
        series(epochs, "epoch", [1.0])
        for k, width, dt in (("neuron_mean", 2, "f4"), ("neuron_std", 2, "f4"), ("neuron_rate", 2, "f4"),
                             ("hist_edges", 5, "f8"), ("hist_counts", 4, "f8"), ("keep_hist", 20, "f8")):
            epochs.create_dataset(k, data=np.ones((1, width), dtype=dt), maxshape=(None, width), chunks=(1, width))
        epochs.create_dataset("neuron_hists", data=np.ones((1, 2, 6)), maxshape=(None, 2, 6), chunks=(1, 2, 6))
        for k in ("hist_zero", "hist_under", "hist_over"):
            series(epochs, k, [0.0])
        w = f.create_group("weights")
        w.create_dataset("layers.0.weight", data=np.ones((2, 4), dtype="f4"))
        w.create_dataset("layers.0.bias", data=np.zeros(2, dtype="f4"))
        w.create_dataset("layers.1.num_batches_tracked", data=np.int64(3))
        w.create_dataset("input_mean", data=np.full((1, 1, 1, 1), 0.5, dtype="f4"))
    sidecar = path[:-3] + ".analysis.hdf5"
    with h5py.File(sidecar, "w", libver="v110") as f:
        f.attrs.create("format", "normout-analysis", dtype=vlen)
        f.attrs.create("run_id", "synthetic-run", dtype=vlen)
        fl = f.create_group("analysis/flatness")
        fl.create_dataset("measure", data=np.array([b"fisher_rao_empirical", b"fisher_rao_model"], dtype="S256"),
                          maxshape=(None,), chunks=(64,))
        for k in ("value", "standard_error", "n", "epoch", "step"):
            fl.create_dataset(k, data=np.array([0.5, 0.25]), maxshape=(None,), chunks=(64,))
        arr = f.create_dataset("analysis/arrays/flatness_landscape_2d_loss", data=np.ones((2, 2)))
        arr.attrs.create("kind", "2d", dtype=vlen)
        arr.attrs.create("axes", "x,y", dtype=vlen)
    return sidecar


def run_seeds(corpus, h5py, run_dir, scratch):
    t = "fuzz_run_file"
    if run_dir:
        x = os.path.join(run_dir, "X.h5")
        seg = os.path.join(run_dir, "X.resume-1.h5")
        side = os.path.join(run_dir, "X.analysis.hdf5")
        with h5py.File(x, "r") as f:
            run_id = f.attrs["run_id"]
        run_id = run_id.decode() if isinstance(run_id, bytes) else str(run_id)
        put(corpus, t, "real-stopped", run_seed(h5py, ACTIVATIONS | LATEST | EPOCHS, [(0, x)]))
        put(corpus, t, "real-resumed", run_seed(h5py, ATTACKS | LATEST | EPOCHS, [(0, x), (1, seg), (3, side)]))
        put(corpus, t, "real-unsaved",
            run_seed(h5py, FLATNESS | LATEST, [(0, x)],
                     [(False, "20260101T000000Z-1-0", unsaved_json(run_id)),
                      (True, run_id, unsaved_json(run_id))]))
    path = os.path.join(scratch, "synthetic.h5")
    sidecar = synthetic_run(h5py, path)
    put(corpus, t, "synthetic", run_seed(h5py, ACCURACY | LATEST | EPOCHS, [(0, path), (3, sidecar)]))
    put(corpus, t, "synthetic-earliest-l2", run_seed(h5py, ATTACKS | L2, [(0, path)]))


def legacy_run_seeds(corpus):
    """Inputs of the older generator (no "NRF1"): root attributes that pass the first checks."""
    t = "fuzz_run_file"

    def string(v):
        v = v.encode()
        assert len(v) < 16
        return bytes([1, 0, len(v)]) + v

    def integer(v):
        return bytes([2, 0, v & 0xFF, 0])

    attrs = [string("normout-run"), bytes([2, 0, 0, 1]), string("id"), string("n"), string(""), string("{}"),
             string("v"), string("t"), integer(0), string("t"), string("h"), string("cpu"), string("h"),
             integer(1), integer(0), integer(0), integer(0)]
    status = bytes([1, 0, 0, 31]) + b"finished".ljust(4096, b"\0")
    put(corpus, t, "legacy-header", b"".join(attrs) + status)
    put(corpus, t, "legacy-empty", b"")


# ------------------------------------------------------------------ other targets

def data_seeds(corpus):
    """A valid CIFAR record, IDX headers, a tiny PNG, JPEG and tar header."""
    t = "fuzz_data_readers"
    put(corpus, t, "cifar", b"\x00" + bytes([3]) + bytes(3072) + bytes([7]) + bytes(3072))
    idx = struct.pack(">IIII", 0x803, 2, 28, 28) + bytes(2 * 784)
    put(corpus, t, "idx", b"\x01" + idx + struct.pack(">II", 0x801, 2) + b"\x01\x02")
    put(corpus, t, "idxgz", b"\x02" + gzip.compress(idx))
    png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0)
    png += struct.pack(">I", zlib.crc32(png[12:29]) & 0xffffffff)
    raw = zlib.compress(b"\x00\x10\x20\x00\x30\x40")
    png += struct.pack(">I", len(raw)) + b"IDAT" + raw + struct.pack(">I", zlib.crc32(b"IDAT" + raw) & 0xffffffff)
    png += struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND") & 0xffffffff)
    put(corpus, t, "png", b"\x03" + png)
    put(corpus, t, "jpeg", b"\x03\xff\xd8\xff\xe0\x00\x10JFIF\x00")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in ("train/a/0.png", "test/a/0.png"):
            info = tarfile.TarInfo(name)
            info.size = len(png)
            tar.addfile(info, io.BytesIO(png))
    put(corpus, t, "tar", b"\x04" + buf.getvalue())


PRESETS = ["quick", "thesis/baseline", "thesis/dropout-48-51", "thesis/temporal-softmax-48-51-T100",
           "thesis/spatiotemporal-softmax-1-4-T80"]

OVERRIDES = [
    "model.width=0.0625", "model.hidden=32", "data.train_limit=256", "data.test_limit=128", "train.epochs=1",
    "train.batch_size=64", "evaluate.attacks=fgsm", "evaluate.attack_n=32", "evaluate.flatness_n=32",
    'model.surgery=[{"op": "replace", "at": [48, 51], "layer": {"type": "normout", "variant": "temporal-softmax", '
    '"temperature": 100}}]',
    'model.surgery=[{"op": "insert", "at": [53], "layer": {"type": "dropout", "p": 0.3}}, '
    '{"op": "remove", "at": [1]}]',
    "instrument.layers=[48, 51]", "instrument.neurons=[0, 3]", "train.lr_schedule=step",
    "train.lr_milestones=[10, 20]", "train.seed=18446744073709551615", "train.device=cuda:1", "name=seed run",
    "evaluate.attack_norms=linf,l2", "data.augment.scale_max=1.2", "train.warmup_epochs=0", "train.lr=1e-3",
    "instrument.ewma_alpha=0.5", "evaluate.attacks=fgsm,pgd-ce,pgd-t,square,noise",
]


def config_seeds(corpus, configs):
    t = "fuzz_config"
    base = {"name": "Temporal Softmax 48 51 (T=100), reduced for CPUs", "data": {"dataset": "cifar10"},
            "model": {"width": 0.25, "hidden": 1024, "surgery": [
                {"op": "replace", "at": [48, 51],
                 "layer": {"type": "normout", "variant": "temporal-softmax", "temperature": 100}}]},
            "train": {"epochs": 10}}
    put(corpus, t, "overlay", b"\x01\x00" + json.dumps(base).encode())
    put(corpus, t, "file", b"\x03\x01" + json.dumps(base, indent=2).encode())
    put(corpus, t, "overrides", b"\x02\x00" + "\n".join(OVERRIDES).encode())
    put(corpus, t, "overrides-defaults", b"\x02\xff" + "\n".join(OVERRIDES[:9]).encode())
    for i, text in enumerate(configs):
        put(corpus, t, f"config-{i}", b"\x00\x00" + text.encode())


def sweep_seeds(corpus, resources, configs):
    t = "fuzz_sweep"
    specs = []
    folder = os.path.join(resources, "sweeps")
    if os.path.isdir(folder):
        for name in sorted(os.listdir(folder)):
            if name.endswith(".json"):
                specs.append(open(os.path.join(folder, name), "rb").read())
    specs.append(json.dumps({"name": "tiny", "preset": "quick", "grid": {"train.lr": [0.01, 0.02]},
                             "seeds": [0, 1]}).encode())
    specs.append(json.dumps({"list": [{"preset": "thesis/dropout-48"}, {"label": "wide net", "model.width": 0.5}],
                             "grid": {"model.surgery": [[{"op": "replace", "at": [48],
                                                          "layer": {"type": "dropout", "p": 0.3}}], []]},
                             "seeds": 2, "slurm": {"partition": "gpu", "time": "01:00:00", "mem": "8G", "gpus": 1,
                                                   "cpus": 4, "max_parallel": 2, "options": ["--qos=normal"]}}).encode())
    specs.append(json.dumps({"name": "table-3.1", "description": "Thesis Table 3.1: every row, seed 0",
                             "list": [{"preset": p} for p in PRESETS[1:]], "seeds": [0]}).encode())
    for i, spec in enumerate(specs):
        put(corpus, t, f"spec-{i}", b"\x00" + spec + b"\0" + "\n".join(OVERRIDES[:6]).encode())
    base = configs[0] if configs else json.dumps({"train": {"epochs": 2}})
    put(corpus, t, "spec-config-file",
        b"\x00" + json.dumps({"config": "base.json", "set": {"train.epochs": 1}, "grid": {"train.seed": [1, 2]}})
        .encode() + b"\0\0" + base.encode())
    config = json.loads(configs[0]) if configs else {"train": {"epochs": 1}}
    plan = {"version": 1, "source": "spec.json", "name": "tiny", "overrides": ["train.epochs=1"],
            "slurm": {"partition": "", "time": "", "mem": "", "gpus": 0, "cpus": 0, "max_parallel": 0, "options": []},
            "runs": [{"index": i, "name": f"tiny__train.lr={lr}__seed0", "file": f"tiny__train.lr={lr}__seed0.h5",
                      "seed": 0, "varied": {"train.lr": lr}, "config": config} for i, lr in enumerate([0.01, 0.02])]}
    put(corpus, t, "plan", b"\x01" + json.dumps(plan, indent=2).encode())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--cli", default="")
    ap.add_argument("--cache", default="")
    ap.add_argument("--resources", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                                        "resources"))
    args = ap.parse_args()
    corpus = os.path.abspath(args.corpus)
    cache = os.path.abspath(args.cache or os.path.join(corpus, "cache"))
    os.makedirs(cache, exist_ok=True)
    scratch = os.path.join(corpus, "scratch")
    os.makedirs(scratch, exist_ok=True)

    data_seeds(corpus)
    legacy_run_seeds(corpus)

    cli = os.path.abspath(args.cli) if args.cli and os.access(args.cli, os.X_OK) else ""
    if args.cli and not cli:
        note(f"{args.cli} is not an executable; seeds without a real run")
    configs = []
    for p in PRESETS if cli else []:
        out = cli_output(cli, ["config", "--preset", p], scratch)
        if out:
            configs.append(out)
    if cli:
        out = cli_output(cli, ["config"] + TINY, scratch)
        if out:
            configs.append(out)
    config_seeds(corpus, configs)
    sweep_seeds(corpus, args.resources, configs)

    try:
        import h5py
    except ImportError:
        note("no h5py (python3-h5py): run-file seeds from the older generator only")
        return
    run_dir = real_run(cli, cache) if cli else None
    if cli and not run_dir:
        note("the tiny run failed; run-file seeds from a synthetic run only")
    run_seeds(corpus, h5py, run_dir, scratch)
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
