"""``iclcontrol solar``: user errors end with one line on stderr and exit status 2."""

from pathlib import Path

import pandas as pd
import pytest

from iclcontrol.cli import main


def _error_lines(capsys, argv) -> tuple[int, list[str]]:
    """Exit status of the CLI and the lines it wrote to stderr."""
    status = main(argv)
    return status, capsys.readouterr().err.strip().splitlines()


def _is_one_line_error(status: int, err: list[str], match: str) -> bool:
    return (
        status == 2
        and len(err) == 1
        and err[0].startswith("iclcontrol: error:")
        and match in err[0]
    )


@pytest.mark.parametrize(
    ("flags", "match"),
    [
        (["--days", "0"], "--days must be > 0, got 0"),
        (["--days", "-1"], "--days must be > 0, got -1"),
        (["--kwp", "-5"], "--kwp must be >= 0, got -5"),
        (["--dispatch-hours", "0"], "--dispatch-hours must be > 0"),
        (["--battery-kwh", "-1"], "--battery-kwh must be >= 0"),
        (["--oracle-hours", "4,x"], "--oracle-hours takes comma-separated numbers"),
    ],
)
def test_operate_flags_are_checked_by_name(capsys, flags, match):
    status, err = _error_lines(
        capsys, ["solar", "operate", "--data", "tmy3-greensboro", *flags]
    )
    assert _is_one_line_error(status, err, match), (status, err)


def test_data_and_load_errors_are_one_line(capsys, tmp_path):
    status, err = _error_lines(capsys, ["solar", "forecast", "--data", "nofile.csv"])
    assert _is_one_line_error(status, err, "nofile.csv not found"), (status, err)
    table = tmp_path / "t.csv"
    t = pd.date_range("2023-06-01", periods=96, freq="h").strftime("%Y-%m-%d %H:%M")
    pd.DataFrame({"time": t, "GHI": 1.0}).to_csv(table, index=False)
    site = ["--latitude", "39.7", "--longitude", "-105.2"]
    status, err = _error_lines(
        capsys,
        [
            *("solar", "forecast", "--data", str(table), "--time-column", "time"),
            *("--target", "GHI", "--tz", "America/Denvr", *site),
        ],
    )
    assert _is_one_line_error(status, err, "unknown time zone 'America/Denvr'"), err
    status, err = _error_lines(
        capsys, ["solar", "forecast", "--data", str(table), "--target", "GHI"]
    )
    assert _is_one_line_error(status, err, "--time-column"), (status, err)
    empty = tmp_path / "empty.csv"
    empty.write_text("time,load_kw\n")
    for load, match in [
        ("flat:abc", "KW must be a number"),
        ("residential:abc", "SCALE must be a number"),
        ("flat:-2", ">= 0"),
        (str(empty), "no rows"),
    ]:
        status, err = _error_lines(
            capsys,
            ["solar", "plan", "--site", "tmy3-sandpoint", "--no-qc", "--load", load],
        )
        assert _is_one_line_error(status, err, match), (load, status, err)


def test_forecast_text_output_reports_gaps_repairs_and_qc(capsys, tmp_path):
    """The text output said nothing of the rows the reader dropped or repaired
    (only --json had them): a user saw RMSEs of data they did not know was cut."""
    from iclcontrol.solar.data import load_solar

    d = load_solar("tmy3-greensboro").slice("1990-05-01", "1990-05-20")
    frame = pd.DataFrame(
        {
            "time": d.frame.index.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "ghi": d.y.to_numpy(),
        }
    )
    frame.loc[[2, 3], "ghi"] = -1.5  # 02:00 and 03:00: negative readings at night
    frame = frame.drop(index=[100, 101, 102])  # a 3-hour gap
    frame = pd.concat([frame, frame.iloc[[50]]])  # a row logged twice
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    status = main(
        [
            *("solar", "forecast", "--data", str(path), "--time-column", "time"),
            *("--target", "ghi", "--latitude", "36.1", "--longitude", "-79.95"),
            *("--horizon", "1", "--epochs", "1", "--hidden", "4"),
        ]
    )
    assert status == 0
    lines = capsys.readouterr().out.splitlines()
    data = [line for line in lines if line.startswith("data: ")]
    assert len(data) == 1, lines
    assert "3 missing steps (1 gaps, longest 3 steps from 1990-05-05" in data[0]
    assert "1 duplicate timestamps dropped" in data[0]
    assert "2 negative values set to 0" in data[0]
    assert "QC flagged" in data[0]


def test_operate_help_gives_the_day_ahead_forecasters_time_limit():
    """Without --time-limit the day-ahead forecaster of `solar operate` trains for
    at most 900 s; the help said "(default: none, --epochs only)" for both."""
    from iclcontrol.cli import build_parser
    from iclcontrol.commands.solar import DAY_AHEAD_TIME_LIMIT_S
    from iclcontrol.solar.data import load_solar
    from iclcontrol.solar.workflows import long_forecast_params

    data = load_solar("tmy3-greensboro")
    assert long_forecast_params(data)["time_limit_s"] == DAY_AHEAD_TIME_LIMIT_S

    def help_of(*path):
        parser = build_parser()
        for name in path:
            parser = next(
                a for a in parser._actions if a.dest.endswith("command")
            ).choices[name]
        action = parser._option_string_actions["--time-limit"]
        return action.help

    assert "the day-ahead forecaster: 900 s" in help_of("solar", "operate")
    assert "day-ahead" not in help_of("solar", "forecast")  # it trains none


def test_operate_day_ahead_forecaster_gets_the_options_its_help_names(monkeypatch):
    """`solar operate` trains two forecasters; every model option whose help names
    both must reach the day-ahead one with the value given. --max-train-samples
    reached the short one only (its help named neither), and no help said which
    forecaster an option applied to. Training is replaced by a recorder: only
    the parameters each forecaster is built with matter here."""
    from iclcontrol.cli import build_parser
    from iclcontrol.commands.solar import BOTH_FORECASTERS
    from iclcontrol.solar.forecast import IrradianceForecaster

    class Stop(Exception):
        """Raised once both forecasters are built (the dispatch is not needed)."""

    built = []

    def record(self, data, **kwargs):
        built.append(self.get_params())
        if len(built) == 2:
            raise Stop
        return self

    monkeypatch.setattr(IrradianceForecaster, "fit", record)
    # flag -> (value given, forecaster parameter, expected parameter value)
    given = {
        "--kind": ("lstm", "kind", "lstm"),
        "--lags": ("5", "lags", 5),
        "--embedding": ("2", "embedding", 2),
        "--variability": ("3", "variability", 3),
        "--covariates": ("temp_air", "covariates", ("temp_air",)),
        "--future-covariates": ("wind_speed", "future_covariates", ("wind_speed",)),
        "--hidden": ("7", "hidden", 7),
        "--layers": ("2", "layers", 2),
        "--epochs": ("3", "epochs", 3),
        "--time-limit": ("11", "time_limit_s", 11.0),
        "--max-train-samples": ("123", "max_train_samples", 123),
        "--seed": ("9", "random_state", 9),
    }
    flags = [x for flag, (value, _, _) in given.items() for x in (flag, value)]
    argv = ["solar", "operate", "--data", "tmy3-greensboro", "--no-qc"]
    with pytest.raises(Stop):
        main([*argv, "--horizon", "2", *flags])
    short, day_ahead = built

    solar = next(a for a in build_parser()._actions if a.dest == "command")
    operate = next(
        a for a in solar.choices["solar"]._actions if a.dest.endswith("command")
    )
    helps = operate.choices["operate"]._option_string_actions
    for flag, (_, name, value) in given.items():
        assert BOTH_FORECASTERS in helps[flag].help, flag
        assert short[name] == value, flag
        assert day_ahead[name] == value, flag
    # --horizon is the short forecaster's only: the day-ahead one covers the
    # default 24 dispatch hours of the hourly TMY3 data, 24 steps
    assert "short forecaster only" in helps["--horizon"].help
    assert (short["horizon"], day_ahead["horizon"]) == (2, 24)


def test_plan_without_an_optimum_exits_1_with_the_reason(tmp_path, capsys):
    """An unbounded sizing LP (no PV bound, PV at 1 $/(kWp a) earning 0.04 $/kWh
    on export) was a TypeError traceback formatting a None size; now exit 1 and a
    warning naming the bound to set."""
    from iclcontrol.cli import main
    from iclcontrol.solar.data import load_solar

    month = load_solar("tmy3-greensboro").slice("1990-01-01 01:00", "1990-02-05 00:00")
    table = tmp_path / "ghi.csv"
    month.frame[["ghi"]].rename_axis("time").to_csv(table)
    site = ["--latitude", "36.1", "--longitude", "-79.95", "--tz", "Etc/GMT+5"]
    plan = ["solar", "plan", "--site", str(table), "--time-column", "time"]
    argv = [*plan, "--target", "ghi", *site, "--no-qc"]
    assert main([*argv, "--pv-cost", "1", "--max-kwp", "inf"]) == 1
    captured = capsys.readouterr()
    assert "iclcontrol: warning: the sizing LP is unbounded" in captured.err
    assert "--max-kwp" in captured.err
    assert "Traceback" not in captured.err and not captured.out.startswith("PV ")


def test_plan_takes_the_arrays_tilt_and_azimuth(tmp_path, capsys):
    """--array-tilt/--array-azimuth exist on plan and reach the PV chain: a
    horizontal array (tilt 0) takes the plane of GHI itself, so its January yield
    is below the default latitude-tilt south-facing array's."""
    import json

    from iclcontrol.solar.data import load_solar

    month = load_solar("tmy3-greensboro").slice("1990-01-01 01:00", "1990-02-05 00:00")
    table = tmp_path / "ghi.csv"
    month.frame[["ghi"]].rename_axis("time").to_csv(table)
    site = ["--latitude", "36.1", "--longitude", "-79.95", "--tz", "Etc/GMT+5"]
    plan = ["solar", "plan", "--site", str(table), "--time-column", "time"]
    argv = [*plan, "--target", "ghi", *site, "--no-qc", "--json"]
    yields = {}
    for flags in ([], ["--array-tilt", "0", "--array-azimuth", "180"]):
        assert main([*argv, *flags]) == 0
        payload = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        yields[payload["array"]["surface_tilt"]] = payload["pv_yield_kwh_per_kwp"]
    assert set(yields) == {36.0, 0.0}
    assert yields[0.0] < 0.9 * yields[36.0]
    # the text output says which plane (and battery) the plan used
    flags = ["--array-tilt", "0", "--array-azimuth", "180", "--soc-range", "0,1"]
    assert main([*argv[:-1], *flags]) == 0
    out = capsys.readouterr().out
    assert "array: tilt 0 deg, azimuth 180 deg (given)" in out
    assert "state of charge 0-1" in out


@pytest.mark.parametrize(
    ("flags", "match"),
    [
        (["--import-prices", "0.1,0.2"], "--import-prices takes OFFPEAK,SHOULDER,PEAK"),
        (["--peak-hours", "16"], "--peak-hours takes local hours START-STOP"),
        (["--offpeak-hours", "0-30"], "offpeak_hours must be two local hours"),
        (["--array-tilt", "100", "--array-azimuth", "180"], "--array-tilt must be"),
        (["--array-tilt", "10", "--array-azimuth", "-90"], "--array-azimuth must"),
        (["--array-tilt", "10"], "give both --array-tilt and --array-azimuth"),
        (["--import-prices", "0.03", "--export-price", "0.04"], "above the cheapest"),
    ],
)
def test_tariff_and_array_flags_are_checked_by_name(capsys, flags, match):
    for command in (["plan", "--site"], ["operate", "--data"]):
        status, err = _error_lines(
            capsys, ["solar", *command, "tmy3-greensboro", *flags]
        )
        assert _is_one_line_error(status, err, match), (command, status, err)


def test_plan_takes_the_users_tariff(tmp_path, capsys):
    """The tariff flags reach the plan: with one flat import price p every period
    costs p, so the grid-only cost is p x the annual load (a property of a flat
    tariff), and the JSON's tariff is the one given (night off-peak over
    midnight)."""
    import json

    from iclcontrol.solar.data import load_solar

    month = load_solar("tmy3-greensboro").slice("1990-01-01 01:00", "1990-02-05 00:00")
    table = tmp_path / "ghi.csv"
    month.frame[["ghi"]].rename_axis("time").to_csv(table)
    site = ["--latitude", "36.1", "--longitude", "-79.95", "--tz", "Etc/GMT+5"]
    plan = ["solar", "plan", "--site", str(table), "--time-column", "time"]
    argv = [*plan, "--target", "ghi", *site, "--no-qc", "--json"]
    tariff = ["--import-prices", "0.25", "--export-price", "0.05"]
    tariff += ["--offpeak-hours", "23-7", "--export-limit", "3"]
    assert main([*argv, *tariff]) == 0
    payload = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert payload["tariff"] == {
        "offpeak": 0.25,
        "shoulder": 0.25,
        "peak": 0.25,
        "peak_hours": [16, 21],
        "offpeak_hours": [23, 7],
        "export": 0.05,
        "export_limit_kw": 3.0,
    }
    assert payload["baseline_cost"] == pytest.approx(
        0.25 * payload["annual_load_kwh"], rel=1e-9
    )


@pytest.mark.parametrize(
    ("flags", "match"),
    [
        (["--battery-efficiency", "1.2"], "--battery-efficiency must be in (0, 1]"),
        (["--battery-efficiency", "0"], "--battery-efficiency must be in (0, 1]"),
        (["--soc-range", "0.9,0.1"], "--soc-range needs 0 <= MIN <= MAX <= 1"),
        (["--soc-range", "0.1"], "--soc-range takes MIN,MAX"),
    ],
)
def test_battery_flags_are_checked_by_name(capsys, flags, match):
    for command in (["plan", "--site"], ["operate", "--data"]):
        status, err = _error_lines(
            capsys, ["solar", *command, "tmy3-greensboro", *flags]
        )
        assert _is_one_line_error(status, err, match), (command, status, err)


def test_plan_min_days_is_a_flag(tmp_path, capsys):
    """Two days of weather: the error named min_days, which the CLI did not have;
    --min-days 1 now plans them (with the 'not a year' warning)."""
    from pathlib import Path

    epw = str(Path(__file__).parent / "data" / "tiny.epw")  # 48 h of Greensboro
    status, err = _error_lines(capsys, ["solar", "plan", "--site", epw, "--no-qc"])
    assert _is_one_line_error(status, err, "CLI --min-days"), (status, err)
    assert main(["solar", "plan", "--site", epw, "--no-qc", "--min-days", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("PV ")
    assert "not a year" in captured.err


@pytest.mark.parametrize(
    ("flags", "match"),
    [
        (["--pv-cost", "-10"], "--pv-cost must be >= 0, got -10"),
        (["--battery-cost", "nan"], "--battery-cost must be >= 0, got nan"),
        (["--battery-c-rate", "0"], "--battery-c-rate must be > 0 kW/kWh, got 0"),
        (["--max-kwh", "-1"], "--max-kwh must be >= 0 (inf: no bound), got -1"),
    ],
)
def test_plan_cost_flags_are_checked_by_name(capsys, flags, match):
    """--pv-cost -10 was refused as 'pv_per_kwp_year must be ...', a name the CLI
    user never typed."""
    status, err = _error_lines(
        capsys, ["solar", "plan", "--site", "tmy3-greensboro", *flags]
    )
    assert _is_one_line_error(status, err, match), (status, err)


def test_plan_and_operate_take_the_load_label(tmp_path, capsys, monkeypatch):
    """--load-label end reads a meter's period-ending stamps: 1 kWh a day stamped
    18:00 is the 17-18 h hour, shoulder price 0.20 $/kWh (peak from 18 h), not
    the peak 0.40 $/kWh; the grid-only cost is price x annual load. operate
    passes the flag on too."""
    import json

    from iclcontrol.solar import workflows
    from iclcontrol.solar.data import load_solar

    month = load_solar("tmy3-greensboro").slice("1990-01-01 01:00", "1990-02-05 00:00")
    table = tmp_path / "ghi.csv"
    month.frame[["ghi"]].rename_axis("time").to_csv(table)
    times = pd.date_range("1990-01-01 01:00", "1990-02-05 00:00", freq="h")
    load = tmp_path / "meter.csv"
    pd.DataFrame(
        {"time": times.strftime("%Y-%m-%d %H:%M"), "load_kw": (times.hour == 18) * 1.0}
    ).to_csv(load, index=False)
    site = ["--latitude", "36.1", "--longitude", "-79.95", "--tz", "Etc/GMT+5"]
    plan = ["solar", "plan", "--site", str(table), "--time-column", "time"]
    argv = [*plan, "--target", "ghi", *site, "--no-qc", "--json", "--load", str(load)]
    argv += ["--import-prices", "0.12,0.20,0.40", "--peak-hours", "18-21"]
    cost = {}
    for label in ("start", "end"):
        assert main([*argv, "--load-label", label]) == 0
        payload = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert payload["load_report"]["load_label"] == label
        cost[label] = payload["baseline_cost"] / payload["annual_load_kwh"]
    assert cost == pytest.approx({"start": 0.40, "end": 0.20}, rel=1e-9)

    class Stop(Exception):
        """Raised instead of the closed loop: only the arguments matter here."""

    def record(*args, **kwargs):
        raise Stop(kwargs["load_label"])

    monkeypatch.setattr(workflows, "run_operate", record)
    with pytest.raises(Stop, match=r"^end$"):
        main(["solar", "operate", "--data", "tmy3-greensboro", "--load-label", "end"])


@pytest.fixture(scope="module")
def forecast_run(tmp_path_factory):
    """`solar forecast --out` on a 20-day table (hidden 4, one epoch): the run
    folder, the table and the run's JSON summary."""
    import io
    import json
    from contextlib import redirect_stdout

    from iclcontrol.solar.data import load_solar

    folder = tmp_path_factory.mktemp("forecast_run")
    d = load_solar("tmy3-greensboro").slice("1990-05-01", "1990-05-20")
    table = folder / "ghi.csv"
    pd.DataFrame(
        {
            "time": d.frame.index.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "ghi": d.y.to_numpy(),
            "temp": d.frame["temp_air"].to_numpy(),
        }
    ).to_csv(table, index=False)
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        status = main(
            [
                *("solar", "forecast", "--data", str(table), "--time-column", "time"),
                *("--target", "ghi", "--latitude", "36.1", "--longitude", "-79.95"),
                *("--horizon", "2", "--epochs", "1", "--hidden", "4"),
                *("--covariates", "temp", "--out", str(folder / "run"), "--json"),
            ]
        )
    assert status == 0
    summary = json.loads(buffer.getvalue().strip().splitlines()[-1])
    return folder, table, summary


def test_forecast_out_saves_the_trained_forecaster(forecast_run):
    from iclcontrol.solar import load_forecaster

    folder, _, summary = forecast_run
    saved = folder / "run" / "models" / "iclrnn"
    assert summary["model"] == str(saved)
    assert summary["models"]["iclrnn"]["model"] == str(saved)
    assert summary["files"]["model"] == str(saved)
    assert sorted(p.name for p in saved.iterdir()) == [
        "model.json",
        "model.safetensors",
    ]
    model = load_forecaster(saved)
    assert model.covariates == ("temp",) and model.horizon == 2
    assert model.training_data_["end"] == summary["cut"]


def test_predict_with_the_saved_model_repeats_the_runs_forecasts(
    forecast_run, capsys, tmp_path
):
    """Without training: the same forecast table and metrics as the run."""
    import json

    _, table, summary = forecast_run
    status = main(
        [
            *("solar", "predict", "--model", summary["model"]),
            *("--data", str(table), "--time-column", "time"),
            *("--start", summary["cut"], "--out", str(tmp_path / "pred"), "--json"),
        ]
    )
    assert status == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["n_test"] == summary["n_test"]
    assert out["horizons"] == summary["models"]["iclrnn"]["horizons"]
    trained = pd.read_csv(summary["files"]["forecast_csv"])
    predicted = pd.read_csv(out["files"]["forecast_csv"])
    assert [c for c in predicted.columns if c.startswith("forecast_")] == [
        "forecast_h1",
        "forecast_h2",
    ]
    assert predicted["forecast_h1"].notna().sum() > 50
    pd.testing.assert_frame_equal(predicted, trained, check_exact=True)
    assert (tmp_path / "pred" / "predict.json").is_file()
    # the text output prints the run's RMSE lines
    status = main(
        [
            *("solar", "predict", "--model", summary["model"]),
            *("--data", str(table), "--time-column", "time", "--start", summary["cut"]),
        ]
    )
    assert status == 0
    lines = capsys.readouterr().out.splitlines()
    for h in summary["models"]["iclrnn"]["horizons"]:
        assert any(f"+{h['steps']} step: RMSE {h['rmse']:.1f} W/m2" in x for x in lines)
    assert any(line.startswith("latest forecast from ") for line in lines)


def test_predict_errors_are_one_line_naming_the_fix(forecast_run, capsys, tmp_path):
    folder, table, summary = forecast_run
    data = ["--data", str(table), "--time-column", "time"]
    cases = [
        (
            ["--model", str(folder / "run"), *data],
            "the model of this run folder is in",
        ),
        (["--model", str(tmp_path / "none"), *data], "does not exist"),
        (
            [
                "--model",
                summary["model"],
                *data,
                "--latitude",
                "40",
                "--longitude",
                "-100",
            ],
            "latitude 40.0 (fit: 36.1)",
        ),
        (
            ["--model", summary["model"], *data, "--horizon", "3"],
            "horizon must be in [1, 2]",
        ),
    ]
    for flags, match in cases:
        status, err = _error_lines(capsys, ["solar", "predict", *flags])
        assert _is_one_line_error(status, err, match), (flags, status, err)
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("model.json", "model.safetensors"):
        (broken / name).write_bytes((Path(summary["model"]) / name).read_bytes())
    (broken / "model.safetensors").write_bytes(b"\x00" * 10)
    status, err = _error_lines(
        capsys, ["solar", "predict", "--model", str(broken), *data]
    )
    assert _is_one_line_error(status, err, "model.safetensors does not match"), err
    from iclcontrol.solar.data import load_solar
    from iclcontrol.solar.scenarios import AnalogDayScenarios

    month = load_solar("tmy3-greensboro").slice("1990-05-01", "1990-05-31")
    analogs = AnalogDayScenarios(n_scenarios=3).fit(month).save(tmp_path / "analogs")
    status, err = _error_lines(
        capsys, ["solar", "predict", "--model", str(analogs), *data]
    )
    assert _is_one_line_error(status, err, "holds analog-day scenarios"), err


# -- solar operate with saved forecasters ---------------------------------------------
def _table(path, start, stop):
    """Greensboro TMY3 from ``start`` to ``stop`` as a plain table: ``ghi``, a
    copy ``ghi2`` (another target column) and ``temp``."""
    from iclcontrol.solar.data import load_solar

    d = load_solar("tmy3-greensboro").slice(start, stop)
    pd.DataFrame(
        {
            "time": d.frame.index.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "ghi": d.y.to_numpy(),
            "ghi2": d.y.to_numpy(),
            "temp": d.frame["temp_air"].to_numpy(),
        }
    ).to_csv(path, index=False)
    return path


#: The site of the tables, as `solar operate` reads them.
_SITE = ["--latitude", "36.1", "--longitude", "-79.95"]
#: Another site than the tables'.
_OTHER_SITE = ["--latitude", "40", "--longitude", "-100"]
#: A one-day closed loop with a 6-h LP (hourly data: 6 steps).
_LOOP = ["--days", "1", "--dispatch-hours", "6", "--scenarios", "2"]


def _last_json(capsys) -> tuple[dict, str]:
    import json

    captured = capsys.readouterr()
    return json.loads(captured.out.strip().splitlines()[-1]), captured.err


@pytest.fixture(scope="module")
def operate_run(tmp_path_factory):
    """`solar operate --out` on a 20-day table, tiny forecasters (hidden 4, one
    epoch, 2 short leads): the folder, the table and the run's JSON summary."""
    import io
    import json
    from contextlib import redirect_stdout

    folder = tmp_path_factory.mktemp("operate_run")
    table = _table(folder / "ghi.csv", "1990-05-01", "1990-05-20")
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        status = main(
            [
                *("solar", "operate", "--data", str(table), "--time-column", "time"),
                *("--target", "ghi", *_SITE, *_LOOP, "--horizon", "2", "--lags", "4"),
                *("--epochs", "1", "--hidden", "4", "--covariates", "temp"),
                *("--out", str(folder / "run"), "--json"),
            ]
        )
    assert status == 0
    return folder, table, json.loads(buffer.getvalue().strip().splitlines()[-1])


def _refuse_training(monkeypatch) -> None:
    """Fitting a network forecaster fails the test from now on."""
    from iclcontrol.solar.forecast import IrradianceForecaster

    def refuse(self, *args, **kwargs):
        raise AssertionError("IrradianceForecaster.fit was called")

    monkeypatch.setattr(IrradianceForecaster, "fit", refuse)


@pytest.fixture
def no_training(monkeypatch):
    """Fitting a network forecaster fails the test: nothing may be trained."""
    _refuse_training(monkeypatch)


def test_operate_out_saves_the_trained_forecasters(operate_run):
    from iclcontrol.solar import load_forecaster
    from iclcontrol.solar.scenarios import AnalogDayScenarios

    folder, _, summary = operate_run
    run = folder / "run"
    sources = summary["forecaster_sources"]
    for role, sub in [("short", "short"), ("day_ahead", "day_ahead")]:
        assert sources[role]["origin"] == "trained"
        assert sources[role]["folder"] == str(run / "models" / sub)
        model = load_forecaster(run / "models" / sub)
        assert model.get_params() == {
            k: tuple(v) if isinstance(v, list) else v
            for k, v in summary["forecasters"][role].items()
        }
    assert load_forecaster(run / "models" / "short").horizon == 2
    assert load_forecaster(run / "models" / "day_ahead").horizon == 6  # 6 h of 1 h
    analogs = load_forecaster(run / "models" / "scenarios")
    assert isinstance(analogs, AnalogDayScenarios) and analogs.n_scenarios == 2
    assert summary["files"]["models"] == {
        role: str(run / "models" / role) for role in ("short", "day_ahead", "scenarios")
    }
    # the trained forecasters record their training period: before the cut
    assert sources["short"]["training_data"]["last"] < summary["start"]


def test_operate_with_the_saved_forecasters_repeats_the_costs_without_training(
    operate_run, capsys, tmp_path, no_training
):
    """The same forecasters drive the same LPs on the same data: every strategy's
    cost equals the first run's, and IrradianceForecaster.fit is never called.
    The table's target, covariates and site are the loaded forecaster's."""
    import json

    folder, table, first = operate_run
    models = folder / "run" / "models"
    status = main(
        [
            *("solar", "operate", "--data", str(table), "--time-column", "time"),
            *_LOOP,
            *("--model", str(models / "short")),
            *("--day-ahead-model", str(models / "day_ahead")),
            *("--scenarios-model", str(models / "scenarios")),
            *("--out", str(tmp_path / "again"), "--json"),
        ]
    )
    assert status == 0
    second, err = _last_json(capsys)
    assert set(second["costs"]) == set(first["costs"])
    assert second["costs"] == first["costs"]  # exactly
    assert second["forecasters"] == first["forecasters"]
    sources = second["forecaster_sources"]
    assert sources["short"]["origin"] == sources["day_ahead"]["origin"] == "loaded"
    assert sources["short"]["folder"] == str(models / "short")
    assert sources["day_ahead"]["folder"] == str(models / "day_ahead")
    assert sources["scenarios"] == {
        **first["forecaster_sources"]["scenarios"],
        "origin": "loaded",
    }
    assert f"short forecaster: loaded from {models / 'short'} (not trained)" in err
    assert "day-ahead forecaster: loaded from" in err and "training" not in err
    # nothing was fit, so nothing is saved again
    saved = json.loads((tmp_path / "again" / "operate.json").read_text())
    assert saved["files"]["models"] == {}
    assert not (tmp_path / "again" / "models").exists()
    assert not any("overlaps" in w for w in second["warnings"])


def test_operate_trains_only_the_day_ahead_forecaster_next_to_a_saved_short_one(
    operate_run, capsys
):
    """--model alone: the day-ahead forecaster is trained with the loaded short
    one's past window and covariates; a training option reaches it only, which a
    warning says."""
    folder, table, first = operate_run
    status = main(
        [
            *("solar", "operate", "--data", str(table), "--time-column", "time"),
            *_LOOP,
            *("--model", str(folder / "run" / "models" / "short")),
            *("--epochs", "1", "--hidden", "3", "--json"),
        ]
    )
    assert status == 0
    summary, err = _last_json(capsys)
    assert "--hidden, --epochs: used for the day-ahead forecaster only" in err
    sources = summary["forecaster_sources"]
    assert (sources["short"]["origin"], sources["day_ahead"]["origin"]) == (
        "loaded",
        "trained",
    )
    day_ahead = summary["forecasters"]["day_ahead"]
    assert (day_ahead["hidden"], day_ahead["epochs"], day_ahead["lags"]) == (3, 1, 4)
    assert list(day_ahead["covariates"]) == ["temp"]
    assert summary["forecasters"]["short"] == first["forecasters"]["short"]


def test_operate_model_errors_are_one_line_before_any_training(
    operate_run, capsys, tmp_path, no_training
):
    """Bad saved forecasters and options that would be ignored: exit 2 and one
    line naming the problem and the fix, before anything is trained (fit
    fails the test)."""
    folder, table, _ = operate_run
    run = folder / "run"
    short, day_ahead = str(run / "models" / "short"), str(run / "models" / "day_ahead")
    scenarios = str(run / "models" / "scenarios")
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("model.json", "model.safetensors"):
        (broken / name).write_bytes((Path(short) / name).read_bytes())
    (broken / "model.safetensors").write_bytes(b"\x00" * 10)
    data = ["--data", str(table), "--time-column", "time", *_LOOP]
    cases = [
        (["--model", str(tmp_path / "none")], "model folder"),
        (["--model", str(tmp_path / "none")], "does not exist; give DIR/models/short"),
        (["--model", str(run)], "the models of this run folder are in"),
        (["--model", str(broken)], "model.safetensors does not match"),
        (["--model", str(run / "models" / "scenarios")], "holds AnalogDayScenarios"),
        (["--day-ahead-model", str(broken), "--target", "ghi", *_SITE], "--day-ahead"),
        # another site or target than the forecaster's, before the day-ahead
        # forecaster would be trained
        (["--model", short, "--latitude", "40", "--longitude", "-100"], "latitude"),
        (["--model", short, "--target", "ghi2"], "fit on target 'ghi'"),
        # the roles swapped
        (["--model", day_ahead], "is a day-ahead forecaster"),
        (["--model", short, "--day-ahead-model", short], "a short forecaster?"),
        (
            [
                "--day-ahead-model",
                day_ahead,
                "--target",
                "ghi",
                *_SITE,
                "--dispatch-hours",
                "12",
            ],
            "forecasts 6 steps (6 h) but the dispatch horizon is 12 steps",
        ),
        (
            ["--model", short, "--day-ahead-model", day_ahead, "--short-only"],
            "not used",
        ),
        # options the loaded forecasters would ignore
        (["--model", short, "--lags", "3"], "--lags: would be ignored"),
        (["--model", short, "--horizon", "2"], "--horizon: would be ignored"),
        (["--model", short, "--kind", "lstm"], "--kind: would be ignored"),
        (["--model", short, "--covariates", "temp"], "--covariates: would be"),
        (
            [
                "--model",
                short,
                "--day-ahead-model",
                day_ahead,
                "--max-train-samples",
                "9",
            ],
            "--max-train-samples: would be ignored, no forecaster is trained",
        ),
        (["--model", short, "--short-only", "--seed", "0"], "--seed: would be ignored"),
        (["--model", "lstm"], "give the forecaster kind as --kind lstm"),
        # analog-day scenarios
        (["--model", short, "--scenarios-model", short], "not analog-day scenarios"),
        (
            ["--model", short, "--scenarios-model", scenarios, "--scenarios", "3"],
            "is 3 but the saved scenarios hold 2; give --scenarios 2",
        ),
        (
            ["--model", short, "--scenarios-model", scenarios, "--short-only"],
            "not used",
        ),
        (
            ["--scenarios-model", scenarios, "--target", "ghi", *_OTHER_SITE],
            "(--scenarios-model): the AnalogDayScenarios was fit at site",
        ),
    ]
    for flags, match in cases:
        status, err = _error_lines(capsys, ["solar", "operate", *data, *flags])
        assert _is_one_line_error(status, err, match), (flags, status, err)


def test_operate_warns_when_the_training_period_overlaps_the_dispatch(
    operate_run, capsys, tmp_path, monkeypatch
):
    """A forecaster trained on all of a 25-day table forecasts the held-out days
    of the 20-day table from its own training data: a warning says so. A folder
    saved before forecasters recorded their training period gets a warning that
    it cannot be checked."""
    import json

    from iclcontrol.solar.data import load_solar
    from iclcontrol.solar.forecast import IrradianceForecaster

    folder, table, _ = operate_run
    longer = _table(tmp_path / "long.csv", "1990-05-01", "1990-05-25")
    d = load_solar(
        longer, time_column="time", target="ghi", latitude=36.1, longitude=-79.95
    )
    model = IrradianceForecaster(horizon=2, lags=4, epochs=1, hidden=4).fit(d)
    model.save(tmp_path / "all")
    _refuse_training(monkeypatch)  # operate trains nothing
    argv = ["solar", "operate", "--data", str(table), "--time-column", "time"]
    argv += [*_LOOP, "--short-only", "--json"]
    assert main([*argv, "--model", str(tmp_path / "all")]) == 0
    summary, _ = _last_json(capsys)
    overlap = [w for w in summary["warnings"] if "overlaps the dispatch period" in w]
    assert len(overlap) == 1 and str(tmp_path / "all") in overlap[0], summary
    # no overlap for the run's own forecaster, trained before the cut
    assert main([*argv, "--model", str(folder / "run" / "models" / "short")]) == 0
    summary, _ = _last_json(capsys)
    assert not [w for w in summary["warnings"] if "training" in w]
    # an older folder without the record: loadable, with a warning
    old = tmp_path / "old"
    old.mkdir()
    for name in ("model.json", "model.safetensors"):
        (old / name).write_bytes((tmp_path / "all" / name).read_bytes())
    meta = json.loads((old / "model.json").read_text())
    del meta["training_data"]
    (old / "model.json").write_text(json.dumps(meta))
    assert main([*argv, "--model", str(old)]) == 0
    summary, _ = _last_json(capsys)
    assert any("no training period recorded" in w for w in summary["warnings"])
    # analog days of the dispatch period: the same warning
    from iclcontrol.solar.scenarios import AnalogDayScenarios

    AnalogDayScenarios(n_scenarios=2).fit(d).save(tmp_path / "analogs")
    models = folder / "run" / "models"
    argv.remove("--short-only")
    argv += ["--model", str(models / "short")]
    argv += ["--day-ahead-model", str(models / "day_ahead")]
    assert main([*argv, "--scenarios-model", str(tmp_path / "analogs")]) == 0
    summary, _ = _last_json(capsys)
    overlap = [w for w in summary["warnings"] if "overlaps the dispatch period" in w]
    assert len(overlap) == 1 and overlap[0].startswith("the analog-day scenarios")
