"""The example scripts run and write what they promise."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_vanishing_gradients_plot_is_written(tmp_path):
    out = tmp_path / "grads.png"
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "vanishing_gradients.py"),
                             str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 10_000


@pytest.mark.slow
def test_demo_shows_every_shipped_model_at_its_job(capsys):
    import importlib.util

    import rnnzoo

    spec = importlib.util.spec_from_file_location("demo", ROOT / "examples" / "demo.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    names = rnnzoo.list_models()
    assert {"lstm-lm", "gru-lm", "rnn-lm", "bilstm-crf-pos", "bilstm-crf-ner",
            "lstm-seq2seq-en-es", "bilstm-spam"} <= set(names)
    for name in names:
        demo.show(name)
        shown = capsys.readouterr().out.splitlines()
        assert shown[0].startswith(f"  {name} (") and "; test " in shown[0], shown
        assert shown[1].split(":")[0].strip() in ("prompt", "input"), shown
        answer = "\n".join(shown[2:]).strip()
        task = rnnzoo.info(name)["task"]
        assert answer, name
        if task == "tagger":
            assert answer.count("/") == len("Mary works for Google in London .".split()), answer
        if task == "classifier":
            assert answer.startswith("answer:  spam (p = ") or \
                answer.startswith("answer:  ham (p = "), answer
        assert "e-" not in shown[0] and "0000" not in shown[0], shown[0]
