"""The HTML report renders in a real browser (headless Chromium) with every figure loaded,
and is self-contained (no external URLs). Skips when /usr/bin/chromium is absent."""

import os
import re
import subprocess
from pathlib import Path

import pytest

from bprop.compare import run_grid
from bprop.report import Report, add_diagnostics, compare_report
from bprop.report.plots import curve_figure

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PROBE = """<script>
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute("data-images", ok + "/" + imgs.length);
  // every contents link lands on the heading it names
  var links = Array.prototype.slice.call(document.querySelectorAll("nav a"));
  var good = links.filter(function (a) {
    var t = document.getElementById(a.getAttribute("href").slice(1));
    return t !== null && t.textContent.trim() === a.textContent.trim();
  }).length;
  document.body.setAttribute("data-links", good + "/" + links.length);
  // figures span the text column
  var column = document.querySelector("main").getBoundingClientRect().width;
  var wide = imgs.filter(function (i) { return i.getBoundingClientRect().width > 0.95 * column; });
  document.body.setAttribute("data-wide", wide.length + "/" + imgs.length);
});
</script></body>"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    import numpy as np

    import bprop as bp
    from bprop.diagnostics import GradientDiagnostics

    out = tmp_path_factory.mktemp("report")
    rows = run_grid("xor", ["sgd", "irprop-"], ["batch", "online"], seeds=3, epochs=200,
                    target_loss=0.05, hidden=[4], n_jobs=1, progress=False)  # fmt: skip
    X = np.random.default_rng(0).normal(size=(64, 4))
    y = (X[:, 0] > 0).astype(np.int64)
    diag = GradientDiagnostics(X, y, warn=False)
    bp.fit(bp.mlp([4, 8, 8, 2], activation="sigmoid"), X, y, epochs=3, callbacks=[diag],
           verbose=0)  # fmt: skip
    path = compare_report(out, rows, command="bprop compare --data xor",
                          diagnostics=[("diagnostics", diag)])  # fmt: skip
    return path


def test_report_is_self_contained(report):
    text = Path(report).read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text
    srcs = re.findall(r'src="([^"]*)"', text)
    assert len(srcs) >= 3 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert not re.search(r"<link|@import|url\(", text)


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Chromium is not installed")
def test_report_renders_in_chromium(report, tmp_path):
    text = Path(report).read_text(encoding="utf-8")
    n_images = text.count("<img ")
    probe = tmp_path / "probe.html"
    probe.write_text(text.replace("</body>", PROBE), encoding="utf-8")
    common = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [*common, "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert f'data-images="{n_images}/{n_images}"' in dom.stdout, dom.stderr[-2000:]
    n_links = len(re.findall(r'<li><a href="#', text))
    assert n_links >= 3 and f'data-links="{n_links}/{n_links}"' in dom.stdout
    assert f'data-wide="{n_images}/{n_images}"' in dom.stdout
    shot = os.environ.get("BPROP_REPORT_SCREENSHOT") or str(tmp_path / "report.png")
    subprocess.run(
        [*common, f"--screenshot={shot}", "--window-size=1280,2000", Path(report).as_uri()],
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert Path(shot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(shot) > 20_000


def test_report_api_escapes_text(tmp_path):
    rep = Report("<title & more>")
    rep.paragraph("a < b")
    rep.figure(curve_figure({"x": [1, 2]}))
    rep.table([{"a": 1.5, "b": None}])
    html = Path(rep.write(tmp_path)).read_text(encoding="utf-8")
    assert "&lt;title &amp; more&gt;" in html and "a &lt; b" in html
    assert add_diagnostics  # imported for the public API
