"""Progress line (TTY only, delayed, silent with --quiet/CI) and a fast --help."""

import os
import pty
import subprocess
import sys
import time

from qreport.console import Progress

from .conftest import ROOT


class FakeTTY:
    def __init__(self):
        self.out = []

    def isatty(self):
        return True

    def write(self, s):
        self.out.append(s)

    def flush(self):
        pass


def test_progress_shows_stages_after_the_delay(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    tty = FakeTTY()
    p = Progress(True, tty)
    p.DELAY = 0.1
    p("loading")
    time.sleep(0.5)
    p("rendering PDF")
    time.sleep(0.5)
    p.done()
    text = "".join(tty.out)
    assert "loading" in text and "rendering PDF" in text and "[####]" in text
    assert text.endswith("\r\033[K")


def test_progress_silent_when_fast_quiet_ci_or_not_a_tty(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    tty = FakeTTY()
    p = Progress(True, tty)
    p("loading")
    p.done()                            # finished before the delay: nothing
    assert tty.out == []
    tty = FakeTTY()
    p = Progress(False, tty)           # --quiet
    p.DELAY = 0
    p("loading")
    time.sleep(0.4)
    p.done()
    assert tty.out == []
    monkeypatch.setenv("CI", "true")    # CI logs
    tty = FakeTTY()
    p = Progress(True, tty)
    p.DELAY = 0
    p("loading")
    time.sleep(0.4)
    p.done()
    assert tty.out == []


def test_real_terminal_gets_the_line_and_a_pipe_does_not(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    master, slave = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "qreport", "build", "--example", "cnn", "-o",
                          str(tmp_path / "c.pdf")], stderr=slave, stdout=subprocess.DEVNULL, env=env)
    os.close(slave)
    # the piped build runs meanwhile (the two take a core each)
    piped = subprocess.Popen([sys.executable, "-m", "qreport", "build", "--example", "cnn", "-o",
                              str(tmp_path / "d.json")], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    assert p.wait(timeout=300) == 0
    text = b"".join(chunks).decode(errors="replace")
    assert "qreport [" in text and "s" in text
    _, err = piped.communicate(timeout=300)
    assert piped.returncode == 0 and err == ""


def test_help_is_fast_no_tensorflow_import():
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-X", "importtime", "-m", "qreport", "--help"],
                       capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0 and "qreport" in p.stdout
    assert time.perf_counter() - t < 1.0
    assert "tensorflow" not in p.stderr and "keras" not in p.stderr
