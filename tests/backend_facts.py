"""Child process of test_backends.py: the qreport/1 facts of every model file in a folder.

    python -m tests.backend_facts numpy|tensorflow DIR OUT.json

Writes {file: report or "error: message"} and whether TensorFlow was imported.
"""

import json
import os
import sys


def main(name: str, folder: str, out: str) -> None:
    from qreport import backend, contract
    from qreport.errors import QReportError
    from qreport.pipeline import analyse_file

    from qreport.options import AnalysisOptions, Options

    backend.use(name)
    facts = {}
    for f in sorted(os.listdir(folder)):
        if not f.endswith((".keras", ".json")):
            continue
        for sample in [None] + sorted(s for s in os.listdir(folder)
                                      if s.startswith(f.rsplit(".", 1)[0] + ".sample")):
            opts = Options(analysis=AnalysisOptions(
                sample=os.path.join(folder, sample) if sample else None))
            try:
                facts[sample or f] = contract.report(*analyse_file(os.path.join(folder, f), opts))
            except QReportError as exc:
                facts[sample or f] = f"error: {exc}"
    with open(out, "w") as fh:
        json.dump({"backend": backend.backend(), "tensorflow": "tensorflow" in sys.modules,
                   "facts": facts}, fh, sort_keys=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
