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


def _command_line_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Command line", 1)[1]
    return re.search(r"```\n(.*?)```", section, flags=re.S).group(1)


def _commands(block: str) -> list[tuple[list[str], set[str]]]:
    """(subcommand path, options) of every ``iclcontrol`` line of a code block;
    options named in the comment lines below a command (``#   --setpoint=CA,T``)
    count for that command, up to the next line of code."""
    commands: list[tuple[list[str], set[str]]] = []
    current: set[str] | None = None
    for line in block.replace("\\\n", " ").splitlines():
        code = line.partition("#")[0]
        words = code.split()
        if words[:1] == ["iclcontrol"]:
            path = []
            for word in words[1:]:
                if word.startswith("-") or word.isupper() or "." in word:
                    break
                path.append(word)
            current = set()
            commands.append((path, current))
        elif words:  # another program's line
            current = None
        if current is not None:
            current.update(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", line))
    return commands


def _doc_commands() -> list[tuple[list[str], set[str]]]:
    """The commands of every code block of docs/*.md and datasets/*.md."""
    found = []
    for path in sorted([*ROOT.glob("docs/*.md"), *ROOT.glob("datasets/*.md")]):
        for block in re.findall(r"```\n(.*?)```", path.read_text(), flags=re.S):
            found += _commands(block)
    return found


def _missing_options(commands: list[tuple[list[str], set[str]]]) -> list[str]:
    import argparse

    from iclcontrol.cli import build_parser

    missing = []
    for path, options in commands:
        parser = build_parser()
        for name in path:
            (action,) = [
                a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
            ]
            if name not in action.choices:
                missing.append(f"iclcontrol {' '.join(path)}: no subcommand {name!r}")
                break
            parser = action.choices[name]
        else:
            known = {s for a in parser._actions for s in a.option_strings}
            known.add("--debug")  # accepted anywhere on the line (cli.main)
            missing += [f"iclcontrol {' '.join(path)} {o}" for o in options - known]
            if "--json" not in known:
                missing.append(f"iclcontrol {' '.join(path)} --json")
    return missing


def test_every_command_line_of_the_readme_exists_with_its_options():
    """Each subcommand the README's Command line block shows exists in the parser and
    takes every option shown with it (and, as the README says, ``--json``)."""
    commands = _commands(_command_line_block())
    assert len(commands) >= 12  # data x2, train, certify, study, run, mpc, bench, solar
    assert _missing_options(commands) == []


def test_every_command_in_the_docs_code_blocks_exists_with_its_options():
    """The same for the reproduce-commands of docs/*.md and datasets/*.md."""
    commands = _doc_commands()
    assert len(commands) >= 5  # noise study (3), solar results (3)
    assert _missing_options(commands) == []
