"""Gold files that fail only on real change, with a diff and the actual output kept
(coverage.py's ``tests/goldtest.py: compare()`` does the same).

A report names the tool versions and the model file's SHA-256.  They are
facts about the run, not about the model's numbers or the layout, so the
comparison replaces them with placeholders on both sides: a Keras or
QKeras upgrade does not fail a test unless the report itself changes.
The gold copy of each example is ``sample_reports/<name>.<format>``;
``make update-gold`` (``make samples``) rewrites them.

On a mismatch :func:`compare` writes the actual output to ``tests/actual/``
(ignored by git) and fails with a unified diff of the two.
"""

import difflib
import os
import re

ACTUAL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "actual")

_SCRUB = [
    # the cover's tool line and the generator tag
    (re.compile(r"Keras [^ <]+ · QKeras [^ <]+ · qreport [^ <]+"), "Keras * · QKeras * · qreport *"),
    (re.compile(r'<meta name="generator" content="qreport [^"]*">'), '<meta name="generator" content="qreport *">'),
    (re.compile(r'<code class="hash">[0-9a-f]{64}</code>'), '<code class="hash">*</code>'),
    # the JSON model block (compact, embedded, or indented, written)
    (re.compile(r'"(keras|qkeras|qreport|sha256)": ?"[^"]*"'), r'"\1": "*"'),
    # the Markdown's tool line and the hls4ml configuration's header
    (re.compile(r"Keras `[^`]*`, QKeras `[^`]*`, qreport `[^`]*`"), "Keras `*`, QKeras `*`, qreport `*`"),
    (re.compile(r"written by qreport \S+"), "written by qreport *"),
    # a diff's short hashes
    (re.compile(r"sha256 `[0-9a-f]{12}`"), "sha256 `*`"),
    # a hash in running text (the PDF's cover)
    (re.compile(r"\b[0-9a-f]{64}\b"), "*"),
]

#: lines of diff shown in a failure (the whole actual file is in tests/actual/)
DIFF_LINES = 60


def scrub(text: str) -> str:
    """text with the tool versions and the model hash replaced by ``*``."""
    for pattern, repl in _SCRUB:
        text = pattern.sub(repl, text)
    return text


def _keep(gold_path: str, actual: bytes) -> str:
    os.makedirs(ACTUAL, exist_ok=True)
    path = os.path.join(ACTUAL, os.path.basename(gold_path))
    with open(path, "wb") as f:
        f.write(actual)
    return path


def _diff(a: str, b: str, name: str) -> str:
    lines = list(difflib.unified_diff(a.splitlines(), b.splitlines(), f"gold/{name}",
                                      f"actual/{name}", lineterm="", n=2))
    more = len(lines) - DIFF_LINES
    return "\n".join(lines[:DIFF_LINES]) + (f"\n… {more} more diff lines" if more > 0 else "")


def compare(actual: bytes, gold_path: str, view=None) -> None:
    """Assert that ``actual`` matches the gold file, scrubbed.

    ``view`` (for PDFs) turns bytes into what a reader sees (a dict of page
    texts, outline, links): equal bytes pass at once, otherwise the views
    are compared.  On failure the actual output is kept in tests/actual/ and
    the message carries the diff and says how to update the gold.
    """
    name = os.path.basename(gold_path)
    assert os.path.exists(gold_path), f"{gold_path} missing: run make update-gold"
    with open(gold_path, "rb") as f:
        gold = f.read()
    if gold == actual:
        return
    if view is not None:
        g, a = view(gold), view(actual)
        g, a = (repr({k: ([scrub(t) for t in v] if k == "text" else v) for k, v in d.items()})
                .replace("', '", "',\n'") for d in (g, a))
    else:
        g, a = scrub(gold.decode()), scrub(actual.decode())
    if g == a:
        return
    kept = _keep(gold_path, actual)
    raise AssertionError(f"{name} differs from its gold copy (actual output kept in {kept}; "
                         f"if the change is intended: make update-gold, and review "
                         f"git diff sample_reports)\n{_diff(g, a, name)}")
