"""The report's HTML: unique anchors and a contents list whose every link lands on its own
section (parsed, not grepped), the summary's success counts, plots kept only when they show
something, series styles that stay distinct, templates shipped as package data."""

from html.parser import HTMLParser
from importlib import resources
from types import SimpleNamespace

import pytest

from bprop.compare import run_grid
from bprop.report import Report, add_diagnostics, add_grid
from bprop.report.plots import curve_figure, series_style


class _Page(HTMLParser):
    """The ids with their element's text, and the contents (nav) links with theirs."""

    def __init__(self):
        super().__init__()
        self.ids, self.links, self.imgs = {}, [], 0
        self._open = []  # (tag, id or None, href or None, text parts)
        self._in_nav = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "nav":
            self._in_nav += 1
        if tag == "img":
            self.imgs += 1
            return
        if "id" in a:
            assert a["id"] not in self.ids, f"duplicate id {a['id']!r}"
            self.ids[a["id"]] = None
        href = a.get("href") if self._in_nav and tag == "a" else None
        self._open.append((tag, a.get("id"), href, []))

    def handle_endtag(self, tag):
        if tag == "nav":
            self._in_nav -= 1
        while self._open:
            t, ident, href, parts = self._open.pop()
            text = " ".join("".join(parts).split())
            if self._open:
                self._open[-1][3].append("".join(parts))
            if ident is not None:
                self.ids[ident] = text
            if href is not None:
                self.links.append((href, text))
            if t == tag:
                break

    def handle_data(self, data):
        if self._open:
            self._open[-1][3].append(data)


def _parse(text):
    page = _Page()
    page.feed(text)
    return page


@pytest.fixture(scope="module")
def grid():
    return run_grid("xor", ["sgd", "irprop-"], ["batch"], seeds=3, epochs=60, target_loss=0.05,
                    hidden=[4], n_jobs=1, progress=False)  # fmt: skip


def test_every_contents_link_lands_on_its_own_section(grid):
    rep = Report("anchors")
    add_grid(rep, grid, "XOR")
    add_grid(rep, grid, "XOR")  # the same titles again
    rep.heading("Summary: XOR")  # a section named like an earlier subsection
    rep.paragraph("text")
    rep.reproduce({"a": 1})
    page = _parse(rep.render())
    assert len(page.links) == 6
    hrefs = [h for h, _ in page.links]
    assert len(set(hrefs)) == len(hrefs)  # each entry its own target
    for href, text in page.links:
        assert href.startswith("#") and href[1:] in page.ids, href
        assert page.ids[href[1:]] == text  # lands on the heading it names
    titles = [t for _, t in page.links]
    assert titles.count("XOR") == 2 and titles.count("Summary: XOR") == 3


def test_summary_shows_successes_as_counts(grid):
    rep = Report("counts")
    summary = add_grid(rep, grid, "XOR")
    text = rep.render()
    for s in summary:
        assert f">{s['successes']}/{s['runs']}<" in text
    assert "reached target" in text and "success rate" not in text


def _diag(saturation, dead=None):
    return SimpleNamespace(
        grad_norms={}, time_norms={}, saturation=saturation, dead_relu=dead or {},
        epochs=[1, 2, 3], saturation_threshold=0.01, messages=[],
        summary_rows=lambda: [{"layer": "1", "norm": 1.0}],
    )  # fmt: skip


def test_a_flat_empty_saturation_plot_is_replaced_by_a_sentence():
    rep = Report("d")
    add_diagnostics(rep, _diag({"2 Sigmoid": [0.0, 0.0, 0.0]}))
    text = rep.render()
    assert "<img" not in text and "No sigmoid/tanh unit saturated" in text
    rep = Report("d")
    add_diagnostics(rep, _diag({"2 Sigmoid": [0.0, 0.1, 0.3]}))
    assert rep.render().count("<img") == 1


def test_fifteen_series_have_fifteen_distinct_styles():
    styles = {tuple(sorted(series_style(i).items())) for i in range(15)}
    assert len(styles) == 15
    looks = {(s["color"], s["linestyle"], s.get("marker")) for s in map(series_style, range(40))}
    assert len(looks) == 40
    fig = curve_figure({f"s{i}": [1.0, 0.5 + i / 100] for i in range(15)})
    lines = fig.axes[0].get_lines()
    assert len({(ln.get_color(), ln.get_linestyle(), ln.get_marker()) for ln in lines}) == 15
    assert len(fig.legends) == 1  # many series: one legend below the plot, not over it


def test_templates_ship_as_package_data_and_escape():
    folder = resources.files("bprop.report") / "templates"
    assert (folder / "report.html.j2").is_file() and (folder / "report.css").is_file()
    rep = Report("<b>x</b>")
    rep.heading("<i>h</i>")
    rep.paragraph("<em>kept</em>", raw=True)
    text = rep.render()
    assert "&lt;b&gt;x&lt;/b&gt;" in text and "&lt;i&gt;h&lt;/i&gt;" in text
    assert "<em>kept</em>" in text
    with pytest.raises(ValueError, match="level"):
        rep.heading("x", level=1)
