"""The built wheel alone, in a fresh virtual environment, from another directory, carries the
shipped models: they list, verify and run without the source checkout."""

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

import rnnzoo

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import json, rnnzoo
names = rnnzoo.list_models()
outputs = {}
for name in names:
    model = rnnzoo.load(name)
    if model.task == "language_model":
        outputs[name] = model.generate("the company said", max_tokens=20, seed=0)
print(json.dumps({"file": rnnzoo.__file__, "names": names, "outputs": outputs}))
"""


@pytest.mark.slow
def test_wheel_in_a_fresh_venv_loads_the_shipped_models(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
                   check=True, capture_output=True)
    wheel = next(dist.glob("rnnzoo-*.whl"))
    assert wheel.stat().st_size < 100 * 10**6, "over PyPI's 100 MB per-file limit"
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True,
                   capture_output=True)
    away = tmp_path / "elsewhere"
    away.mkdir()
    result = subprocess.run([str(python), "-c", SCRIPT], cwd=away, capture_output=True,
                            text=True, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert str(env) in report["file"]
    assert report["names"] == rnnzoo.list_models()
    for name, text in report["outputs"].items():
        assert isinstance(text, str) and text, name
    issue_line = ('import rnnzoo; print(rnnzoo.load("lstm-lm").generate("the company said", '
                  'max_tokens=20, seed=0))')
    printed = subprocess.run([str(python), "-c", issue_line], cwd=away, capture_output=True,
                             text=True, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert printed.returncode == 0, printed.stderr[-3000:]
    assert printed.stdout.strip() == report["outputs"]["lstm-lm"].strip()
    assert len(printed.stdout.split()) >= 5
