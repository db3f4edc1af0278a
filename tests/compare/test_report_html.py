#!/usr/bin/python3
"""test_report_html.py — the HTML reports render in a real browser: headless
Chromium (Debian's chromium package) loads the report `onnxq compare
--per-tensor --report` writes and the sample report of report_sample.c
(scatter of candidates, bar chart with inf/NaN/negative values, injection
attempts in names), and the DOM it builds is checked: the SVG charts are
there with one bar per layer / one point per candidate, the chosen point is
ringed, labels are the (escaped) names, and no injected element exists.  A
screenshot of each is taken into WORK_DIR and checked to be a non-blank PNG.

usage: test_report_html.py ONNXQ REPORT_SAMPLE SOURCE_DIR WORK_DIR
"""
import os
import shutil
import struct
import subprocess
import sys
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from oqtest import ORT_RUNNER, Dom, check, fresh_dir, summary  # noqa: E402

onnxq, sample_bin, src, work = sys.argv[1:5]
here = os.path.dirname(os.path.abspath(__file__))
runjs = ORT_RUNNER
chromium = shutil.which("chromium") or shutil.which("chromium-browser")
if not chromium:
    print("FAIL chromium is not installed: run scripts/deps.sh (Debian package 'chromium')")
    sys.exit(1)


def render(html_path, shot):
    url = "file://" + os.path.abspath(html_path)
    base = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--user-data-dir=" + os.path.join(work, "chromium-profile")]
    r = subprocess.run(base + ["--dump-dom", url], capture_output=True, text=True, timeout=120)
    check(r.returncode == 0 and "<svg" in r.stdout, f"chromium --dump-dom {html_path}: {r.returncode}")
    s = subprocess.run(base + ["--window-size=1150,1400", "--screenshot=" + shot, url],
                       capture_output=True, text=True, timeout=120)
    check(s.returncode == 0 and os.path.exists(shot), f"chromium --screenshot {shot}: {s.stderr[-300:]}")
    dom = Dom()
    dom.feed(r.stdout)
    return dom


def png_pixels_vary(path):
    """True if the PNG's pixel rows are not all one colour."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return False
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + n]
        pos += 12 + n
    raw = zlib.decompress(idat)
    return len(set(raw[:200000])) > 20


fresh_dir(work)

# ---- the compare report of a QDQ twin with a deliberately coarse layer
tw = os.path.join(work, "twins")
subprocess.run(["/usr/bin/python3", os.path.join(here, "make_twins.py"), tw, runjs], check=True,
               capture_output=True)
cal = os.path.join(tw, "cal")
os.makedirs(cal)
for f in sorted(os.listdir(tw)):
    if f.startswith("cal_"):
        shutil.copy(os.path.join(tw, f), cal)
report = os.path.join(work, "compare.html")
r = subprocess.run([onnxq, "compare", os.path.join(tw, "float.onnx"), os.path.join(tw, "qdq.onnx"),
                    "--calib", cal, "--per-tensor", "--runs", "1", "--report", report, "--json"],
                   capture_output=True, text=True)
check(r.returncode == 0, f"compare --report: {r.stderr}")
if r.returncode == 0:
    import json
    j = json.loads(r.stdout)
    names = [t["name"] for t in j["tensors"]]
    dom = render(report, os.path.join(work, "compare.png"))
    svgs = dom.find("svg", "bars")
    check(len(svgs) == 1 and svgs[0]["attrs"].get("data-bars") == str(len(names)), f"bar chart svg {svgs}")
    bars = dom.find("rect", "bar")
    check(len(bars) == len(names), f"{len(bars)} bars for {len(names)} tensors")
    check([b["attrs"].get("data-label") for b in bars] == names, "bars in worst-first order, named")
    labels = [e["text"] for e in dom.find("text", "label")]
    check(labels == names, f"bar labels {labels} want {names}")
    check('r1<b>&"x\'' in labels, "the HTML-looking tensor name is shown as text")
    check(not dom.find("b"), "no <b> element was injected by a tensor name")
    check(bars and "bad" in bars[0]["attrs"]["class"] or "warn" in bars[0]["attrs"]["class"],
          f"the coarse layer's bar is coloured as bad: {bars[0]['attrs'] if bars else None}")
    tables = dom.find("table")
    check(len(tables) >= 3, f"tables: outputs, per tensor, weights, latency ({len(tables)})")
    cells = [e["text"] for e in dom.find("td")]
    check("logits" in cells and "w1" in cells, "output and weight tables list their names")
    check(png_pixels_vary(os.path.join(work, "compare.png")), "compare screenshot is not blank")

# ---- the sample report: scatter for tune, bars with inf/NaN/negative
sample = os.path.join(work, "sample.html")
r = subprocess.run([sample_bin, sample], capture_output=True, text=True)
check(r.returncode == 0, f"report_sample: {r.stderr}")
if r.returncode == 0:
    dom = render(sample, os.path.join(work, "sample.png"))
    sc = dom.find("svg", "scatter")
    check(len(sc) == 1 and sc[0]["attrs"].get("data-points") == "5", f"scatter svg {sc}")
    pts = dom.find("circle", "pt")
    check(len(pts) == 5, f"{len(pts)} points")
    check(len([p for p in pts if "fails" in p["attrs"]["class"]]) == 1, "one candidate fails the bound")
    check(len(dom.find("circle", "chosen")) == 1, "one chosen ring")
    chosen = [e["text"] for e in dom.find("text", "chosenlabel")]
    check(chosen == ["chosen: qdq u8s8 per-channel"], f"chosen label {chosen}")
    check(len(dom.find("line", "bound")) == 1, "the bound is drawn")
    check(len(dom.find("tr", "hl")) == 1, "the chosen row is highlighted")
    bars = dom.find("rect", "bar")
    check(len(bars) == 6, f"{len(bars)} bars")
    classes = [b["attrs"]["class"] for b in bars]
    check(classes == ["bar bad", "bar bad", "bar warn", "bar good", "bar nan", "bar inf"], f"bar colours {classes}")
    check(not dom.find("img") and not dom.find("script") and not dom.find("b"), "no injected element")
    title = [e["text"] for e in dom.find("title")]
    check('tune <sample> & "report"' in title, f"title {title}")
    check(png_pixels_vary(os.path.join(work, "sample.png")), "sample screenshot is not blank")

sys.exit(summary("test_report_html: "))
