"""The command line answers --help and --version without a traceback."""

import subprocess
import sys

import trialsynth


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "trialsynth", *args], capture_output=True, text=True)


def test_version():
    proc = run_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"trialsynth {trialsynth.__version__}"


def test_help_lists_subcommands():
    proc = run_cli("--help")
    assert proc.returncode == 0
    assert "report" in proc.stdout
