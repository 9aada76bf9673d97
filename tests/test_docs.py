"""The documentation says what the code does."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_cli_reference_is_current(tmp_path):
    generated = tmp_path / "cli.md"
    subprocess.run(
        [sys.executable, "-m", "typer", "datong.cli", "utils", "docs", "--name", "datong",
         "--title", "datong command reference", "--output", str(generated)],
        check=True, capture_output=True, cwd=ROOT,
    )
    assert generated.read_text() == (ROOT / "docs/cli.md").read_text(), "run `make docs`"
