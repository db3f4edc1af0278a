"""oqtest.py — helpers shared by the Python tests under tests/, so each piece
lives in one place: the check counter and its summary/exit status, running
the onnxq binary, running ONNX Runtime through tests/oracle/run.js and
reading the outputs a run wrote, cosine similarity, metric values read back
from JSON, output file names as run.js writes them, one-line error checks,
OCR-like test pages, writing a PNG, and an element collector for the DOM
headless Chromium dumps.

A test imports it with
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    from oqtest import ...  # noqa: E402
"""
import os
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser

import numpy as np

# ONNX Runtime 1.30 through node: the oracle of every test that runs a model
ORT_RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "oracle", "run.js")

_count = {"checks": 0, "failures": 0, "show_passes": False}


def check(cond, what):
    """Counts one check; prints FAIL and the message when cond is false.
    Returns cond so a caller can skip work that depends on it."""
    _count["checks"] += 1
    if not cond:
        _count["failures"] += 1
        print("FAIL", what, flush=True)
    elif _count["show_passes"]:
        print("PASS", what, flush=True)
    return cond


def show_passes():
    """From now on check() prints a PASS line for each passing check too."""
    _count["show_passes"] = True


def summary(label=""):
    """Prints 'passed/total checks passed'; returns the exit status (1 if any
    check failed)."""
    c, f = _count["checks"], _count["failures"]
    print(f"{label}{c - f}/{c} checks passed")
    return 1 if f else 0


def failures_summary(scratch):
    """The other ending: 'OK: 0 failures' or 'FAIL: N failures'; the scratch
    folder is removed after a pass and kept (and named) after a failure.
    Returns the exit status."""
    f = _count["failures"]
    print(f"{'FAIL' if f else 'OK'}: {f} failures")
    if f:
        print(f"(files kept in {scratch})")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    return 1 if f else 0


def fresh_dir(path):
    """Empties (or creates) a work folder."""
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)


def run_onnxq(onnxq, *args, env=None, cwd=None):
    """Runs `onnxq ARGS...`, capturing stdout/stderr as text."""
    return subprocess.run([onnxq, *args], capture_output=True, text=True, env=env, cwd=cwd)


def run_ort(model, out, inputs=None, inputs_dir=None, threads=None, opt=True, must_pass=False):
    """Runs model in ONNX Runtime (tests/oracle/run.js) with inputs
    {name: file.npy} and/or a folder of <name>.npy; run.js writes
    out/<sanitize(output)>.npy.  opt=False turns ORT's graph optimisations
    off; must_pass raises on a failed run."""
    os.makedirs(out, exist_ok=True)
    args = ["node", ORT_RUNNER, model, "--out", out]
    if inputs_dir is not None:
        args += ["--inputs", inputs_dir]
    if threads is not None:
        args += ["--threads", str(threads)]
    if not opt:
        args.append("--no-opt")
    for k, v in (inputs or {}).items():
        args += ["--input", f"{k}={v}"]
    return subprocess.run(args, capture_output=True, text=True, check=must_pass)


def read_outputs(folder):
    """{output name: array} for the .npy files a run wrote into folder."""
    return {f[:-4]: np.load(os.path.join(folder, f)) for f in sorted(os.listdir(folder))}


def outputs_of(r, folder):
    """read_outputs(folder) after a run r that succeeded; None (and its
    stderr printed) after one that failed."""
    if r.returncode != 0:
        print(r.stderr.strip())
        return None
    return read_outputs(folder)


def cosine(a, b):
    """Cosine similarity of two arrays, in float64."""
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def num(v):
    """A metric from JSON: the strings inf, -inf and nan as floats."""
    return {"inf": float("inf"), "-inf": float("-inf"), "nan": float("nan")}.get(v, v) \
        if isinstance(v, str) else v


def sanitize(name):
    """A tensor name as a file name, the way run.js and onnxq name outputs."""
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)


def one_error_line(r, *needles, what=""):
    """Checks a bad-input run: exit 1, exactly one stderr line, naming each needle."""
    lines = r.stderr.strip().splitlines()
    check(r.returncode == 1, f"{what}: exit {r.returncode}, want 1 ({r.stderr.strip()})")
    check(len(lines) == 1, f"{what}: {len(lines)} stderr lines: {r.stderr!r}")
    for n in needles:
        check(n in r.stderr, f"{what}: '{n}' not in {r.stderr.strip()!r}")


def text_page(rng, shape):
    """Rows of dark strokes on a white page in [-1, 1], shape [n, c, h, w],
    as PaddleOCR sees a page: noise alone would leave the detector's map
    near zero and relative errors meaningless."""
    n, c, h, w = shape
    page = np.ones((h, w), np.float32)
    for _ in range(max(2, h * w // 10000)):
        y, x = rng.integers(0, max(1, h - 8)), rng.integers(0, max(1, w - 40))
        bh, bw = rng.integers(6, max(7, min(24, h // 2))), rng.integers(20, max(21, min(140, w // 2)))
        for k in range(x, min(w, x + bw), int(rng.integers(6, 12))):
            page[y:y + bh, k:k + int(rng.integers(2, 5))] = -1.0
    x = np.broadcast_to(page, (n, c, h, w)).copy()
    return (x + rng.normal(0, 0.05, x.shape)).astype(np.float32)


def write_png(path, rgb):
    """Writes an [h, w, 3] uint8 array as an 8-bit RGB PNG (zlib, no filter)."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(t, d):
        c = struct.pack(">I", len(d)) + t + d
        return c + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    with open(path, "wb") as fp:
        fp.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                 + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class Dom(HTMLParser):
    """Elements (tag, attrs) in document order and the text inside each."""

    def __init__(self):
        super().__init__()
        self.elems = []
        self.stack = []

    def handle_starttag(self, tag, attrs):
        e = {"tag": tag, "attrs": dict(attrs), "text": ""}
        self.elems.append(e)
        if tag not in ("rect", "line", "circle", "meta", "br", "img", "path"):
            self.stack.append(e)

    def handle_startendtag(self, tag, attrs):
        self.elems.append({"tag": tag, "attrs": dict(attrs), "text": ""})

    def handle_endtag(self, tag):
        while self.stack:
            e = self.stack.pop()
            if e["tag"] == tag:
                break

    def handle_data(self, data):
        # an SVG <title> is a tooltip: its text is not part of the visible
        # text of the element holding it
        if self.stack and self.stack[-1]["tag"] == "title" and len(self.stack) > 1 and \
                self.stack[-2]["tag"] in ("text", "circle", "g"):
            self.stack[-1]["text"] += data
            return
        for e in self.stack:
            e["text"] += data

    def find(self, tag, cls=None):
        return [e for e in self.elems if e["tag"] == tag and
                (cls is None or cls in e["attrs"].get("class", "").split())]
