"""The command line as shell scripts and CI pipelines drive it.

Pipes that close early, signals, ``--help`` texts, output paths in ``--json``.
"""

import os
import subprocess
import sys


def test_closed_stdout_pipe_ends_quietly_with_status_141():
    # `iclcontrol solar datasets | head -0`: the reader is gone before the first
    # write; like other command-line tools the command stops without a traceback
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "iclcontrol.cli", "solar", "datasets"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 141  # 128 + SIGPIPE, the shell's convention
    assert "Traceback" not in done.stderr
    assert "BrokenPipeError" not in done.stderr


def _train_and_signal(out, signum: int) -> subprocess.CompletedProcess:
    """Run ``iclcontrol train`` in a child that sends itself ``signum`` after 2 s.

    Training gets a 60 s budget, so the signal arrives while the command works.
    """
    script = (
        "import os, sys, threading\n"
        "from iclcontrol.cli import main\n"
        f"threading.Timer(2.0, os.kill, (os.getpid(), {int(signum)})).start()\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    return subprocess.run(
        [
            *(sys.executable, "-c", script, "train", "--data", "cstr"),
            *("--hidden", "4", "--layers", "1", "--time-budget", "60"),
            *("--out", str(out), "--json"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


def test_sigterm_and_sigint_stop_a_command_with_one_line_and_the_shell_status(
    tmp_path,
):
    import signal

    terminated = _train_and_signal(tmp_path / "term run", signal.SIGTERM)
    # 128 + 15 from the command itself (not a kill by the signal: returncode -15)
    assert terminated.returncode == 143, terminated.stderr
    assert terminated.stderr == "iclcontrol: terminated\n"
    assert terminated.stdout == ""
    assert not (tmp_path / "term run").exists()  # no half-written model folder
    interrupted = _train_and_signal(tmp_path / "int run", signal.SIGINT)
    assert interrupted.returncode == 130, interrupted.stderr
    assert interrupted.stderr == "iclcontrol: interrupted\n"
    assert not (tmp_path / "int run").exists()


def _options(parser, name="iclcontrol"):
    """(command, option action) of every option of every subcommand."""
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _options(sub, f"{name} {sub_name}")
        elif action.option_strings and not isinstance(action, argparse._HelpAction):
            yield name, action


def test_every_option_is_explained_and_zero_defaults_are_shown():
    from iclcontrol.cli import build_parser

    unexplained = [
        f"{command} {action.option_strings[0]}"
        for command, action in _options(build_parser())
        if not action.help
    ]
    assert unexplained == []
    train = " ".join(
        subprocess.run(
            [sys.executable, "-m", "iclcontrol.cli", "train", "--help"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    )
    # defaults of 0 and 0.0 are defaults too (`0 in (None, False)` hid them)
    # the noise goes to the validation targets too (early stopping sees it)
    assert (
        "added to the scaled training and validation targets (scaled units; test "
        "targets stay clean) (default: 0.0)"
    ) in train
    assert "--seed SEED random seed (default: 0)" in train
    operate = " ".join(
        subprocess.run(
            [sys.executable, "-m", "iclcontrol.cli", "solar", "operate", "--help"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    )
    assert "(default: )" not in operate  # an empty default is no default
    assert "closed-loop length [days] (default: 7.0)" in operate
    assert "--kwp KWP PV size [kWp] (default: 5.0)" in operate


def test_run_and_bench_reject_bad_numbers_before_any_work(tmp_path, capsys):
    import pytest

    from iclcontrol.cli import main

    for args, message in (
        # before: `run --steps 0` trained for the whole budget, wrote config.json
        # and model/ into --out, and only then failed
        (["run", "--steps", "0", "--budget", "1"], "argument --steps: must be >= 1"),
        (["run", "--budget", "-1"], "argument --budget: must be > 0"),
        (["run", "--hidden", "0", "--budget", "1"], "argument --hidden: must be >= 1"),
        (["bench", "mpc", "--steps", "0"], "argument --steps: must be >= 1"),
        (["bench", "mpc", "--kinds", "iclrnn,foo"], "argument --kinds: unknown 'foo'"),
    ):
        out = tmp_path / "out"
        with pytest.raises(SystemExit) as exit_info:
            main([*args, "--out", str(out)])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
        assert not out.exists()


def test_certify_takes_the_run_folder_of_iclcontrol_run_like_mpc(
    tmp_path, capsys, tiny_iclrnn_two_moves
):
    import json

    from iclcontrol.cli import main

    run = tmp_path / "a run"  # `iclcontrol run --out RUN` keeps the model in RUN/model
    tiny_iclrnn_two_moves.save(run / "model")
    assert main(["certify", str(run), "--midpoint", "0", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert payload["kind"] == "iclrnn"
    assert payload["convex"] is True  # ICLRNN: non-negative weights, ReLU


def _last_json_line(text: str) -> dict:
    """The last line of stdout as strict JSON (NaN and Infinity are refused)."""
    import json

    def refuse(constant: str) -> None:
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text.strip().splitlines()[-1], parse_constant=refuse)


def test_json_of_every_command_with_out_names_the_output_folder(
    tmp_path, capsys, tiny_iclrnn_two_moves
):
    from iclcontrol.cli import main
    from iclcontrol.solar.data import load_solar

    model = tmp_path / "model"
    tiny_iclrnn_two_moves.save(model)
    mpc_out = tmp_path / "mpc out"
    mpc = ["mpc", "--model", str(model), "--x0=-1.5,70", "--steps", "2"]
    assert main([*mpc, "--out", str(mpc_out), "--json"]) == 0
    payload = _last_json_line(capsys.readouterr().out)
    assert payload["out"] == str(mpc_out)
    assert (mpc_out / "closed_loop.csv").is_file()
    assert main([*mpc, "--json"]) == 0  # without --out: the key is there, null
    assert _last_json_line(capsys.readouterr().out)["out"] is None

    month = load_solar("tmy3-greensboro").slice("1990-01-01 01:00", "1990-02-05 00:00")
    table = tmp_path / "ghi.csv"
    month.frame[["ghi"]].rename_axis("time").to_csv(table)
    plan_out = tmp_path / "plan out"
    site = ["--latitude", "36.1", "--longitude", "-79.95", "--tz", "Etc/GMT+5"]
    plan = ["solar", "plan", "--site", str(table), "--time-column", "time"]
    argv = [*plan, "--target", "ghi", *site, "--no-qc", "--json"]
    assert main([*argv, "--out", str(plan_out)]) == 0
    payload = _last_json_line(capsys.readouterr().out)
    assert payload["out"] == str(plan_out)
    assert (plan_out / "plan.json").is_file()


def test_solar_out_that_is_a_file_fails_before_the_work(tmp_path, capsys):
    import time

    from iclcontrol.cli import main

    afile = tmp_path / "afile"
    afile.write_text("keep me")
    for command in (
        ["solar", "plan", "--site", "tmy3-greensboro"],  # a year's LP: 25 s
        ["solar", "operate", "--data", "tmy3-greensboro", "--days", "1"],
        ["solar", "forecast", "--data", "tmy3-greensboro", "--epochs", "1"],
    ):
        start = time.perf_counter()
        assert main([*command, "--out", str(afile)]) == 2
        assert time.perf_counter() - start < 5  # refused before loading the data
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is an existing file, not a folder" in err
    assert afile.read_text() == "keep me"


def test_a_rerun_that_stops_while_writing_leaves_no_stale_summary(tmp_path):
    import json

    import pytest

    from iclcontrol.solar.data import load_solar
    from iclcontrol.solar.workflows import run_plan

    month = load_solar("tmy3-greensboro").slice("1990-01-01 01:00", "1990-02-05 00:00")
    out = tmp_path / "plan"
    out.mkdir()
    # a previous run's summary, and a folder where the schedule goes: the new run
    # stops with an error while writing (as if interrupted there)
    (out / "plan.json").write_text(json.dumps({"kwp": 123.0}))
    (out / "sizing_schedule.csv").mkdir()
    with pytest.raises(IsADirectoryError):
        run_plan(month, qc=False, out=out)
    # before: the old plan.json stayed beside the new run's files
    assert not (out / "plan.json").exists()
    (out / "sizing_schedule.csv").rmdir()
    result = run_plan(month, qc=False, out=out)
    written = json.loads((out / "plan.json").read_text())
    assert written["kwp"] == pytest.approx(result["kwp"])
    assert written["kwp"] != 123.0
    assert not (out / "plan.json.tmp").exists()


def test_solar_warnings_go_to_stderr_and_results_to_stdout(tmp_path, capsys):
    from iclcontrol.cli import main
    from iclcontrol.solar.data import load_solar

    month = load_solar("tmy3-greensboro").slice("1990-01-01 01:00", "1990-02-05 00:00")
    table = tmp_path / "ghi.csv"
    month.frame[["ghi"]].rename_axis("time").to_csv(table)
    site = ["--latitude", "36.1", "--longitude", "-79.95", "--tz", "Etc/GMT+5"]
    plan = ["solar", "plan", "--site", str(table), "--time-column", "time"]
    assert main([*plan, "--target", "ghi", *site, "--no-qc"]) == 0
    captured = capsys.readouterr()
    # 35 days are not a year: the plan says so, on stderr
    assert "iclcontrol: warning: the data cover 35 days" in captured.err
    assert "warning" not in captured.out
    assert captured.out.startswith("PV ")


def test_an_empty_out_is_a_usage_error_not_the_current_folder(
    tmp_path, monkeypatch, capsys
):
    import pytest

    from iclcontrol.cli import build_parser, main

    monkeypatch.chdir(tmp_path)
    commands = sorted(
        {
            command.split()[1:].__repr__(): command.split()[1:]
            for command, action in _options(build_parser())
            if "--out" in action.option_strings
        }.values()
    )
    # data cstr/csv/plant, train, study noise, mpc, bench mpc, run, solar x4
    # (forecast, predict, plan, operate)
    assert len(commands) == 12
    for words in commands:
        # `--out "$OUT"` with OUT unset: before, `data cstr` and `solar plan`
        # wrote arrays.npz, card.json, plan.json ... into the current folder
        with pytest.raises(SystemExit) as exit_info:
            main([*words, "--out", ""])
        assert exit_info.value.code == 2, words
        err = capsys.readouterr().err
        assert "argument --out: empty path" in err and err.count("\n") == 1, words
    assert list(tmp_path.iterdir()) == []
