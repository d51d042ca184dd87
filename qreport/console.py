"""The terminal: a progress line while a build runs, and a stderr of qreport's own lines."""

from __future__ import annotations

import contextlib
import os
import sys
import warnings


class Progress:
    """A status line on stderr for builds that take more than a moment.

    Only on a terminal (never in CI logs or pipes), never with --quiet, and
    only once the build has run for DELAY seconds: fast builds print nothing.
    A background thread redraws the line with the stage and elapsed time.
    """

    DELAY = 1.5
    STAGES = ("loading", "analysing", "rendering", "rendering PDF")

    def __init__(self, enabled: bool, stream=None):
        import threading
        import time

        self.stream = stream or sys.stderr
        self.enabled = enabled and self.stream.isatty() and not os.environ.get("CI")
        self._time = time.monotonic
        self.start = self._time()
        self.stage = ""
        self.shown = False
        self._stop = threading.Event()
        self._thread = None
        if self.enabled:
            self._thread = threading.Thread(target=self._tick, daemon=True)
            self._thread.start()

    def __call__(self, stage: str) -> None:
        self.stage = stage

    def _line(self) -> str:
        width = len(self.STAGES)
        stage = "analysing" if self.stage.startswith("sample ") else self.stage
        n = self.STAGES.index(stage) + 1 if stage in self.STAGES else 0
        if self.stage.endswith(" models"):   # a batch: "K/N models"
            k, total = (int(v.replace(",", "")) for v in self.stage.split()[0].split("/"))
            width, n = 20, round(20 * k / max(total, 1))
        bar = "#" * n + "." * (width - n)
        return f"\r\033[Kqreport [{bar}] {self.stage}… {self._time() - self.start:4.1f} s"

    def _tick(self) -> None:
        while not self._stop.wait(0.2):
            if self.stage and self._time() - self.start >= self.DELAY:
                self.stream.write(self._line())
                self.stream.flush()
                self.shown = True

    def clear(self) -> None:
        """Erase the line, so that another line can be written (it is redrawn after)."""
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def done(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


@contextlib.contextmanager
def own_stderr(debug: bool):
    """Only qreport's own lines reach stderr: yields the stream for them.

    Libraries write to stderr behind Python's back (absl and TensorFlow's
    C++ logging, Keras's UserWarnings, qkeras's [WARNING] lines, WeasyPrint),
    so for the run file descriptor 2 points at /dev/null, Python warnings
    are ignored, and qreport's progress line gets a copy of the real
    stderr.  With --debug everything shows.
    """
    if debug:
        yield sys.stderr
        return
    sys.stderr.flush()
    saved = os.dup(2)
    own = os.fdopen(os.dup(saved), "w", buffering=1, encoding="utf-8", errors="replace")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    python_stderr, sys.stderr = sys.stderr, open(os.devnull, "w")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield own
    finally:
        sys.stderr.close()
        sys.stderr = python_stderr
        os.dup2(saved, 2)
        os.close(saved)
        own.close()
