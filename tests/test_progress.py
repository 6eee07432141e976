"""Progress bars: one rule for when to draw one, and the bar a notebook kernel really shows
(tqdm.auto's widget), checked in a real IPython kernel."""

from __future__ import annotations

import queue
import sys

import pytest

from smppkit.diagnose import logs, progress
from smppkit.notebook import datasets


def test_explicit_choices_are_obeyed():
    assert progress.wanted(True, 0) is True
    assert progress.wanted(False, 10 * progress.MIN_BYTES) is False


def test_the_default_draws_only_for_big_input_that_someone_watches(monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert progress.wanted(None, progress.MIN_BYTES) is True
    assert progress.wanted(None, progress.MIN_BYTES - 1) is False  # under a second of work
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert progress.wanted(None, progress.MIN_BYTES) is False  # no terminal, no kernel here


def test_total_bytes_counts_the_files_that_exist(tmp_path):
    a = tmp_path / "a"
    a.write_bytes(b"x" * 10)
    assert progress.total_bytes([a, tmp_path / "missing", a]) == 20


def test_a_hidden_bar_is_a_no_op():
    with progress.bar(100, "read", show=False) as b:
        b.update(5)
        b.set_description_str("x")
    assert isinstance(b, progress.NoBar)


def test_reading_a_small_log_draws_no_bar(capsys):
    logs.read(datasets.path("healthy"))
    assert capsys.readouterr().err == ""


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_a_notebook_kernel_shows_a_progress_widget():
    jupyter_client = pytest.importorskip("jupyter_client")
    km, kc = jupyter_client.manager.start_new_kernel(kernel_name="python3")
    try:
        code = ("from smppkit.diagnose import logs, progress\n"
                "from smppkit.notebook import datasets\n"
                "progress.MIN_BYTES = 1  # as if the log were big\n"
                "df = logs.read(datasets.path('healthy'))\n"
                "print(progress.in_kernel(), len(df) > 0)")
        msg_id = kc.execute(code)
        kinds, printed = set(), ""
        while True:
            try:
                msg = kc.get_iopub_msg(timeout=60)
            except queue.Empty:
                pytest.fail("the kernel did not answer within 60 s")
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            content = msg["content"]
            if msg["msg_type"] == "display_data":
                kinds |= set(content["data"])
            elif msg["msg_type"] == "stream" and content["name"] == "stdout":
                printed += content["text"]
            elif msg["msg_type"] == "error":
                pytest.fail("\n".join(content["traceback"]))
            elif msg["msg_type"] == "status" and content["execution_state"] == "idle":
                break
        assert printed.strip() == "True True"
        assert "application/vnd.jupyter.widget-view+json" in kinds  # tqdm.auto's widget
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
