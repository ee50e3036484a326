"""The example scripts run and write what they promise."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_vanishing_gradients_plot_is_written(tmp_path):
    out = tmp_path / "grads.png"
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "vanishing_gradients.py"),
                             str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 10_000
