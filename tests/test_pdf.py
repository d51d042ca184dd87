"""PDF export: text, outline, pages, metadata, reproducibility, sandbox."""

import io

import pytest
from pypdf import PdfReader

from qreport.build import Options, analyse_file, render
from qreport.render.pdf import make_fetcher, render_pdf

from .conftest import EXAMPLES


@pytest.fixture(scope="module")
def pdfs(example_paths):
    out = {}
    for e in EXAMPLES:
        facts, meta = analyse_file(example_paths[e], Options())
        out[e] = (facts, meta, render(facts, meta, "pdf", Options()))
    return out


@pytest.mark.parametrize("name", EXAMPLES)
def test_pdf_structure(name, pdfs):
    facts, meta, data = pdfs[name]
    r = PdfReader(io.BytesIO(data))
    text = "\n".join(p.extract_text() for p in r.pages)
    for l in facts.layers:
        assert l.name in text
    top = [o for o in r.outline if not isinstance(o, list)]
    assert [o.title for o in top] == ["Summary"] + [f"{i + 1} {l.name}" for i, l in enumerate(facts.layers)]
    assert len(r.pages) >= len(facts.layers)
    assert r.metadata.title == facts.name == meta["name"]
    assert r.metadata.creator.startswith("qreport")
    assert "/CreationDate" not in r.metadata
    fonts = set()
    for p in r.pages:
        for f in (p["/Resources"].get("/Font") or {}).values():
            fonts.add(f.get_object()["/BaseFont"])
    assert fonts and all("DejaVu" in f for f in fonts), fonts


def test_pdf_is_reproducible_and_honours_source_date_epoch(pdfs, example_paths, monkeypatch):
    facts, meta, data = pdfs["conv1d"]
    assert render(facts, meta, "pdf", Options()) == data
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    dated = render(facts, meta, "pdf", Options())
    assert PdfReader(io.BytesIO(dated)).metadata["/CreationDate"].startswith("D:20231114")
    assert render(facts, meta, "pdf", Options()) == dated


def test_letter_paper(pdfs, example_paths):
    facts, meta, _ = pdfs["jet_mlp"]
    data = render(facts, meta, "pdf", Options(paper="letter"))
    box = PdfReader(io.BytesIO(data)).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)
    a4 = PdfReader(io.BytesIO(pdfs["jet_mlp"][2])).pages[0].mediabox
    assert (round(float(a4.width)), round(float(a4.height))) == (595, 842)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://127.0.0.1:9/x.png",
                                 "https://example.com/a.css", "data:text/plain,hello",
                                 "qreport-asset:../../etc/passwd", "ftp://x/y"])
def test_fetcher_refuses_everything_but_own_assets(url):
    f = make_fetcher()
    with pytest.raises(ValueError):
        f.fetch(url)
    assert f.refused == [url]
    assert f.fetch("qreport-asset:fonts/DejaVuSans.ttf").status == 200


def test_urls_in_model_strings_never_reach_the_network_or_disk(tmp_path):
    """A layer name and a title carrying URLs: escaped as text, nothing fetched."""
    import keras
    from qkeras import QDense, quantized_bits

    from qreport.analysis.model import analyse
    from qreport.render.html import render_document

    x = keras.Input((3,))
    d = QDense(2, kernel_quantizer=quantized_bits(4, 0, alpha=1), name="d")
    m = keras.Model(x, d(x))
    d.name = '<img src="file:///etc/passwd"><link rel=stylesheet href="http://127.0.0.1:9/x.css">'
    facts = analyse(m)
    meta = {"name": '<img src="http://127.0.0.1:9/t.png">', "file": "m.keras", "sha256": "0" * 64,
            "keras": "k", "qkeras": "q", "qreport": "r"}
    html, assets = render_document(facts, meta, None, media="pdf")
    assert assets  # the charts: served from memory, the only files the PDF may read
    fetcher = make_fetcher(assets)
    data = render_pdf(html, meta, fetcher)
    assert fetcher.refused == []                       # escaped: never became a URL
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "file:///etc/passwd" in text.replace("\n", "")
    # and if markup ever slipped through, the fetcher is what stands in the way:
    evil = html.replace("<main>", '<main><img src="file:///etc/passwd"><img src="http://127.0.0.1:9/x.png">'
                                  '<style>@import url("file:///etc/hostname");</style>')
    fetcher = make_fetcher(assets)
    render_pdf(evil, meta, fetcher)
    assert set(fetcher.refused) == {"file:///etc/passwd", "http://127.0.0.1:9/x.png", "file:///etc/hostname"}
