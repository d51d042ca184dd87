"""Gold files that fail only on real change (coverage.py's gold tests do the same).

A report names the tool versions and the model file's SHA-256.  They are
facts about the run, not about the model's numbers or the layout, so the
comparison replaces them with placeholders on both sides: a Keras or
QKeras upgrade does not fail a test unless the report itself changes.
The gold copy of each example is ``sample_reports/<name>.<format>`` (one
per example and format; ``make samples`` rewrites them).
"""

import re

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


def scrub(text: str) -> str:
    """text with the tool versions and the model hash replaced by ``*``."""
    for pattern, repl in _SCRUB:
        text = pattern.sub(repl, text)
    return text

