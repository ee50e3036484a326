"""The console entry point answers --version and --help."""

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

import rnnzoo
from rnnzoo.cli import main


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"rnnzoo, version {rnnzoo.__version__}"


def test_help_shows_an_example():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "Example: rnnzoo --version" in result.output


def test_console_script_is_installed():
    bindir = Path(sys.executable).parent
    result = subprocess.run([str(bindir / "rnnzoo"), "--version"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert rnnzoo.__version__ in result.stdout
