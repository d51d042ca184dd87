"""PDF export: structure, parts merged right, page numbers, --sheets, overflow,
reproducibility on both font-subsetting paths, sandbox."""

import dataclasses
import io
import json
import time

import pytest
from fontTools.ttLib import TTFont

from qreport.options import RenderOptions
from qreport.pipeline import analyse_file, render
from qreport.cli import main
from qreport.render import media as M
from qreport.render import pdf as P
from qreport.render.html import render_document, render_parts
from qreport.provenance import Provenance

from . import pdfcheck as C
from .conftest import EXAMPLES


@pytest.fixture(scope="module")
def analysed(example_paths):
    return {e: analyse_file(example_paths[e]) for e in EXAMPLES}


@pytest.fixture(scope="module")
def pdfs(analysed):
    return {e: render(*analysed[e], "pdf") for e in EXAMPLES}


def _pdf(facts, meta, *, part_cost=None, jobs=None, sheets="all", stats=None, paper="a4"):
    kw = {} if part_cost is None else {"part_cost": part_cost}
    parts, assets = render_parts(facts, meta, paper=paper, sheets=sheets, **kw)
    return P.render_pdf(parts, _info(meta), assets, paper=paper, jobs=jobs, stats=stats), parts


def _info(prov):
    return P.PdfInfo(prov.name, f"Hardware datasheet of {prov.file}", "qreport test")


def _single_document_pages(facts, meta, sheets="all") -> tuple[int, dict[str, int]]:
    """Lay the whole print HTML out as ONE WeasyPrint document (no parts, no
    overlay): its page count and the page of every layer sheet.  The
    independent reference for what cutting into parts must not change."""
    import weasyprint

    from qreport.render.workers import drawn

    html, assets = render_document(facts, meta, None, media="pdf", sheets=sheets)
    assets = drawn(assets)   # the charts' Specs, drawn as a PDF worker draws them
    doc = weasyprint.HTML(string=html, base_url=M.SCHEME + "/",
                          url_fetcher=M.make_fetcher(assets, M.subset_fonts(html))).render()
    where = {}
    for i, page in enumerate(doc.pages):
        for name in page.anchors:
            where.setdefault(name, i)
    return len(doc.pages), where


def _check_document(data: bytes, facts, sheets="all", single=None):
    """Outline, links, "page X of Y" and the contents' numbers of a merged PDF."""
    r = C.reader(data)
    n = len(r.pages)
    text = C.texts(r)
    keep = [(i, l) for i, l in enumerate(facts.layers)
            if sheets == "all" or (sheets == "mac" and l.operations)]
    # outline: Summary, then one entry per sheet, each on the page of its heading
    ol = C.outline(r)
    top = [(t, p) for d, t, p in ol if d == 0]
    assert [t for t, _ in top] == ["Summary"] + [f"{i + 1} {l.name}" for i, l in keep]
    sheet_page = {}
    for (t, p), (i, l) in zip(top[1:], keep):
        assert l.name in text[p] and l.class_name in text[p], (t, p)
        sheet_page[i] = p
        if single is not None:
            assert p == single[f"layer-{i}"], f"{t}: page {p + 1}, one-document layout says {single[f'layer-{i}'] + 1}"
    # page X of Y on every page (so on the first and last page of every part)
    for i, t in enumerate(text):
        assert C.PAGE_OF.findall(t) == [(str(i + 1), str(n))], (i, C.PAGE_OF.findall(t))
    # every link lands on a page that shows its target; the contents' number
    # drawn in each link's box is that page's number
    ls = C.links(r)
    assert all(d is not None for _, _, d in ls)
    to_sheets = [(p, rect, d) for p, rect, d in ls if d in sheet_page.values() and p < min(sheet_page.values(), default=n)]
    if keep:
        assert {d for _, _, d in to_sheets} == set(sheet_page.values())
    toc_numbers = 0
    for p in range(n):
        for s, x, y in C.placed_text(r.pages[p]):
            if not s.isdigit():
                continue
            hits = {d for lp, (x1, y1, x2, y2), d in ls if lp == p and x1 <= x + 1 <= x2 and y1 <= y + 1 <= y2}
            if hits:
                assert hits == {int(s) - 1}, (p, s, hits)
                toc_numbers += 1
    if keep:
        assert toc_numbers >= len(keep)   # every sheet's entry in the contents
    return r


@pytest.mark.parametrize("name", EXAMPLES)
def test_pdf_structure(name, pdfs, analysed):
    facts, meta = analysed[name]
    r = _check_document(pdfs[name], facts)
    assert r.metadata.title == facts.name == meta.name
    assert r.metadata.creator.startswith("qreport")
    assert "/CreationDate" not in r.metadata
    fonts, programs = set(), {}
    for num in range(1, int(r.trailer["/Size"])):   # every object: chart XObjects too
        try:
            f = r.get_object(num)
        except Exception:
            continue
        if not hasattr(f, "get") or f.get("/Type") != "/Font":
            continue
        fonts.add(f["/BaseFont"])
        if "/DescendantFonts" in f:
            desc = f["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            ff = desc.raw_get("/FontFile2")
            programs[ff.idnum] = ff.get_object()
    assert fonts and all("qreport-Sans" in f for f in fonts), fonts
    # qreport's own subsets (small), each program stored once across all parts
    assert all(int(s["/Length1"]) < 80_000 for s in programs.values())
    assert len(programs) == len({s.get_data() for s in programs.values()})


def test_parts_merge_into_the_pages_of_one_document(analysed):
    """Cut into a part per full sheet and laid out on two cores: the same
    pages, outline, links and numbers as laying the whole document out once;
    and the same bytes serially and in parallel."""
    facts, meta = analysed["cnn"]
    stats = {}
    data, parts = _pdf(facts, meta, part_cost=1.0, jobs=2, stats=stats)
    assert len(parts) >= 5 and len(stats["pages"]) == len(parts)
    n_single, single = _single_document_pages(facts, meta)
    assert sum(stats["pages"]) == n_single == len(C.reader(data).pages)
    _check_document(data, facts, single=single)
    serial, _ = _pdf(facts, meta, part_cost=1.0, jobs=1)
    assert serial == data
    whole, _ = _pdf(facts, meta, part_cost=1000.0, jobs=1)   # front matter + one part
    assert C.view(whole) == C.view(data)


def test_page_x_of_y_on_first_and_last_page_of_every_part(analysed):
    facts, meta = analysed["jet_mlp"]
    stats = {}
    data, parts = _pdf(facts, meta, part_cost=1.0, stats=stats)
    r = C.reader(data)
    n, start = len(r.pages), 0
    assert len(stats["pages"]) >= 4
    for k in stats["pages"]:
        for i in (start, start + k - 1):
            assert f"page {i + 1} of {n}" in r.pages[i].extract_text()
        start += k
    assert start == n


def test_sheets_option(analysed, tmp_path, example_paths):
    facts, meta = analysed["cnn"]
    all_pdf, _ = _pdf(facts, meta)
    mac_pdf, _ = _pdf(facts, meta, sheets="mac")
    none_pdf, _ = _pdf(facts, meta, sheets="none")
    n = [len(C.reader(d).pages) for d in (all_pdf, mac_pdf, none_pdf)]
    assert n[0] >= n[1] > n[2] >= 1, n   # cnn: compact sheets fit under full ones
    _check_document(mac_pdf, facts, sheets="mac")
    _check_document(none_pdf, facts, sheets="none")
    cover = {s: C.reader(d).pages[0].extract_text() for s, d in
             (("all", all_pdf), ("mac", mac_pdf), ("none", none_pdf))}
    assert "--sheets mac" in cover["mac"] and "4 layers without arithmetic left out" in cover["mac"]
    assert "--sheets none" in cover["none"] and "summary only" in cover["none"]
    assert "4 with MACs (full sheets), 4 without (compact sheets)" in cover["all"]
    none_text = " ".join(C.texts(C.reader(none_pdf)))
    assert "Layers" in none_text and "Model charts" in none_text and "Accumulator" not in none_text
    # the HTML honours it too; JSON ignores it
    for s in ("all", "mac"):
        out = tmp_path / f"{s}.html"
        assert main(["build", example_paths["cnn"], "-o", str(out), "--sheets", s, "--quiet"]) == 0
        html = out.read_text()
        assert ('id="layer-1"' in html) == (s == "all") and 'id="layer-0"' in html
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    main(["build", example_paths["cnn"], "-o", str(a)])
    main(["build", example_paths["cnn"], "-o", str(b), "--sheets", "none"])
    assert json.loads(a.read_text()) == json.loads(b.read_text())


def test_overflowing_sheet_keeps_every_number_right(analysed):
    """A sheet longer than a page (here: 70 warnings) spills onto the next
    pages; the pages after it, the contents, the outline and "page X of Y"
    follow, with no second layout pass."""
    facts, meta = analysed["jet_mlp"]
    k = 2
    layers = list(facts.layers)
    layers[k] = dataclasses.replace(layers[k], warnings=tuple(
        f"warning {i}: a long explanation that wraps over the line, " * 2 for i in range(70)))
    big = dataclasses.replace(facts, every_layer=tuple(
        layers[k] if l is facts.layers[k] else l for l in facts.every_layer))
    stats = {}
    data, _ = _pdf(big, meta, part_cost=1.0, stats=stats)
    r = C.reader(data)
    ol = {t: p for d, t, p in C.outline(r) if d == 0}
    first = ol[f"{k + 1} {layers[k].name}"]
    last = next(i for i, t in enumerate(C.texts(r)) if "warning 69" in t)
    assert last > first, "the sheet should span several pages"
    compact = ol[f"{k + 2} {layers[k + 1].name}"]
    # the compact sheet flows after it: on its last page, or the next when the charts fill that
    assert compact in (last, last + 1)
    assert ol[f"{k + 3} {layers[k + 2].name}"] == compact + 1   # next full sheet: next page
    n_single, single = _single_document_pages(big, meta)
    assert n_single == len(r.pages)
    _check_document(data, big, single=single)


def test_no_page_of_the_cnn_sample_is_more_than_two_thirds_empty(analysed):
    facts, meta = analysed["cnn"]
    stats = {}
    _pdf(facts, meta, stats=stats)
    assert all(f >= 1 / 3 for f in stats["fill"][:-1]), [round(f, 2) for f in stats["fill"]]


def _hide_harfbuzz_subset(monkeypatch):
    import weasyprint.pdf.fonts as wf

    monkeypatch.setattr(wf, "harfbuzz_subset", None)


def test_same_bytes_every_time_on_both_subsetting_paths(analysed, monkeypatch):
    """No clock in the PDF, and no dependence on libharfbuzz-subset: two
    renders 1.1 s apart without it (WeasyPrint would subset with fontTools,
    which stamps the time) and one with whatever this machine has."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    facts, meta = analysed["conv1d"]
    with monkeypatch.context() as m:
        _hide_harfbuzz_subset(m)
        a = render(facts, meta, "pdf")
        time.sleep(1.1)
        b = render(facts, meta, "pdf")
    c = render(facts, meta, "pdf")
    assert a == b == c
    # the embedded font programs carry the fonts' own date, not the time of the run
    original = {TTFont(f"{M.font_dir()}/{f}")["head"].modified for f in M.FONTS.values()}
    r = C.reader(a)
    seen = 0
    for p in r.pages:
        for f in (p["/Resources"].get("/Font") or {}).values():
            desc = f.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            font = TTFont(io.BytesIO(desc["/FontFile2"].get_object().get_data()))
            assert font["head"].modified in original
            seen += 1
    assert seen


@pytest.mark.parametrize("jobs", [1, 2])
def test_no_temporary_files_left_behind(analysed, tmp_path, monkeypatch, jobs):
    """WeasyPrint writes the fonts of each FontConfiguration to a temporary
    folder.  A worker keeps one parsed stylesheet (with its fonts) for all its
    parts: the folder must go when the worker stops (a pool) or when the
    render ends (one core)."""
    import os
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    facts, meta = analysed["jet_mlp"]
    (data, parts) = _pdf(facts, meta, part_cost=1.0, jobs=jobs)
    assert len(parts) >= 3 and C.reader(data).pages
    assert os.listdir(tmp_path) == []


def test_forked_workers_leave_the_parents_fonts_alone(analysed, tmp_path, monkeypatch):
    """A pool forked while this process holds a parsed stylesheet: its workers
    inherit the cache, and ending them must not delete this process's font folder."""
    import os
    import tempfile

    from qreport.render.workers import forget_stylesheets, render_part

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    facts, meta = analysed["jet_mlp"]
    parts, assets = render_parts(facts, meta)
    sheets = parts[1]                   # a run of sheets: one <style>, so cached
    first = render_part(sheets, assets, M.subset_fonts(sheets))
    try:
        mine = os.listdir(tmp_path)
        assert len(mine) == 1                      # this process's font folder
        P.render_pdf(parts, _info(meta), assets, jobs=2)
        assert os.listdir(tmp_path) == mine        # the workers' own went; this one stayed
        again = render_part(sheets, assets, M.subset_fonts(sheets))
        assert again.pdf == first.pdf
    finally:
        forget_stylesheets()
    assert os.listdir(tmp_path) == []


def test_source_date_epoch_dates_the_pdf(analysed, monkeypatch):
    facts, meta = analysed["conv1d"]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    dated = render(facts, meta, "pdf")
    assert C.reader(dated).metadata["/CreationDate"].startswith("D:20231114")
    assert render(facts, meta, "pdf") == dated


def test_letter_paper(pdfs, analysed):
    facts, meta = analysed["jet_mlp"]
    data = render(facts, meta, "pdf", RenderOptions(paper="letter"))
    r = C.reader(data)
    assert {(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in r.pages} == {(612, 792)}
    a4 = C.reader(pdfs["jet_mlp"]).pages[0].mediabox
    assert (round(float(a4.width)), round(float(a4.height))) == (595, 842)
    _check_document(data, facts)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://127.0.0.1:9/x.png",
                                 "https://example.com/a.css", "data:text/plain,hello",
                                 "qreport-asset:../../etc/passwd", "ftp://x/y"])
def test_fetcher_refuses_everything_but_own_assets(url):
    f = M.make_fetcher()
    with pytest.raises(ValueError):
        f.fetch(url)
    assert f.refused == [url]
    assert f.fetch("qreport-asset:fonts/DejaVuSans.ttf").status == 200


def test_urls_in_model_strings_never_reach_the_network_or_disk(tmp_path):
    """A layer name and a title carrying URLs: escaped as text, nothing fetched,
    in the parent or in any worker."""
    import keras
    from qkeras import QDense, quantized_bits

    from qreport.analysis.model import analyse

    x = keras.Input((3,))
    d = QDense(2, kernel_quantizer=quantized_bits(4, 0, alpha=1), name="d")
    m = keras.Model(x, d(x))
    d.name = '<img src="file:///etc/passwd"><link rel=stylesheet href="http://127.0.0.1:9/x.css">'
    facts = analyse(m)
    meta = Provenance('<img src="http://127.0.0.1:9/t.png">', "m.keras", "0" * 64, "k", "q", "r")
    parts, assets = render_parts(facts, meta, part_cost=0.5)
    assert assets and len(parts) >= 2   # the charts: served from memory, the only files read
    refused = []
    data = P.render_pdf(parts, _info(meta), assets, jobs=2, refused=refused)
    assert refused == []                       # escaped: never became a URL
    text = "".join(C.texts(C.reader(data)))
    assert "file:///etc/passwd" in text.replace("\n", "")
    # and if markup ever slipped through, each worker's fetcher stands in the way:
    evil = '<img src="file:///etc/passwd"><img src="http://127.0.0.1:9/x.png"><style>@import url("file:///etc/hostname");</style>'
    bad = [p.replace("<main>", "<main>" + evil) for p in parts]
    refused = []
    P.render_pdf(bad, _info(meta), assets, jobs=2, refused=refused)
    assert set(refused) == {"file:///etc/passwd", "http://127.0.0.1:9/x.png", "file:///etc/hostname"}
    assert len(refused) == 3 * len(parts)
