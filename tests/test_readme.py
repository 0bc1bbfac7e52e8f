"""The README's Python block runs verbatim (only the training budget shortened)."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def _python_block() -> str:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 1, "expected exactly one python block in the README"
    return blocks[0]


def test_readme_python_block_runs_in_an_empty_folder(tmp_path):
    code = _python_block()
    assert "time_budget_s=120" in code
    code = code.replace("time_budget_s=120", "time_budget_s=2")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # the files the block says it writes
    assert (tmp_path / "runs" / "iclrnn" / "model.json").is_file()
    assert (tmp_path / "plant_log.csv").is_file()
    # print(model.certificate_) is readable: a few lines, not the dataclass repr
    out = done.stdout
    assert "iclrnn certificate" in out
    assert "convex: yes" in out
    assert "Lipschitz bound over 10-step sequences" in out
    assert "matrices=" not in out
    # the cleaning report of the 400-row log: 400 - 20 + 1 windows of 20 rows
    assert "'windows_total': 381" in out
