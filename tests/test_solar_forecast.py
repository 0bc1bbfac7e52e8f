"""Irradiance forecaster: windows, smart persistence, fitting, prediction, backtest.

Fast tests use a 40-day slice of the Greensboro TMY3 year and tiny networks; the
REFERENCE targets on pvdaq-poa-15min are checked in a slow test.
"""

import numpy as np
import pandas as pd
import pytest

from iclcontrol.exceptions import ConfigError, DataError, NotFittedError
from iclcontrol.solar.data import SolarData, load_solar
from iclcontrol.solar.features import clearsky_index, clearsky_target
from iclcontrol.solar.forecast import (
    STEP_FEATURES,
    IrradianceForecaster,
    SmartPersistence,
    backtest,
    chronological_cut,
    evaluate,
    make_windows,
)

TINY = {"hidden": 8, "epochs": 2, "lags": 4, "horizon": 3, "random_state": 0}


@pytest.fixture(scope="module")
def tmy_slice():
    return load_solar("tmy3-greensboro").slice("1990-05-01", "1990-06-09")


@pytest.fixture(scope="module")
def fitted(tmy_slice):
    cut = chronological_cut(tmy_slice)
    return IrradianceForecaster(kind="iclrnn", **TINY).fit(tmy_slice, end=cut), cut


def test_windows_are_aligned_with_the_series(tmy_slice):
    lags, h = 4, 3
    w = make_windows(tmy_slice, lags, h)
    y = tmy_slice.y
    cs = clearsky_target(tmy_slice)
    csi = clearsky_index(y, cs)
    k = 100  # issue time = row k + lags - 1 of the series
    t = k + lags - 1
    assert w.origins[k] == y.index[t]
    assert w.X.shape[1:] == (lags + h, len(STEP_FEATURES))
    np.testing.assert_allclose(w.X[k, :lags, 0], csi[t - lags + 1 : t + 1])
    np.testing.assert_allclose(w.X[k, lags:, 0], csi[t])  # future: last index held
    np.testing.assert_allclose(w.X[k, :, 3], [0] * lags + [1] * h)  # is_future
    np.testing.assert_allclose(w.truth[k], y.to_numpy()[t + 1 : t + 1 + h])
    np.testing.assert_allclose(w.clearsky[k], cs.to_numpy()[t + 1 : t + 1 + h])
    # smart persistence: csi(t) * clear sky(t + h)
    np.testing.assert_allclose(
        w.persistence()[k], csi[t] * cs.to_numpy()[t + 1 : t + 4]
    )


def test_smart_persistence_by_hand():
    idx = pd.date_range("2021-06-01 10:00", periods=6, freq="h", tz="UTC-05:00")
    frame = pd.DataFrame({"ghi": [400.0, 500, 300, 600, 700, 650]}, index=idx)
    frame.index.freq = "h"
    from iclcontrol.solar.data import Site, SolarData

    d = SolarData(frame, "ghi", Site("x", 36.1, -79.95, tz="UTC-05:00"))
    cs = clearsky_target(d).to_numpy()
    p = SmartPersistence(horizon=2).fit(d).predict(d)
    # issue at 12:00 (y = 300): forecasts are 300 / cs(12:00) * cs(13:00), * cs(14:00)
    row = p.loc[idx[2]]
    np.testing.assert_allclose(row.to_numpy(), 300.0 / cs[2] * cs[3:5], rtol=1e-12)


def test_fit_predict_api(fitted, tmy_slice):
    model, cut = fitted
    pred = model.predict(tmy_slice, start=cut)
    assert isinstance(pred.index, pd.DatetimeIndex) and pred.index.tz is not None
    assert list(pred.columns) == ["h1", "h2", "h3"]
    assert pred.index[0] >= cut
    assert np.isfinite(pred.to_numpy()).all()
    assert (pred.to_numpy() >= 0).all()
    # fewer steps on request; a plain DataFrame gives the same numbers
    p2 = model.predict(tmy_slice.frame, horizon=2, start=cut)
    np.testing.assert_allclose(p2.to_numpy(), pred[["h1", "h2"]].to_numpy())
    assert model.history_["n_train"] > 0 and "x_scaler" in model.export_spec()


def test_training_keeps_iclrnn_constraints(fitted):
    model, _ = fitted
    spec = model.network_.export_spec()
    for layer in spec["layers"]:
        for name in ("W", "U"):
            assert (layer[name] >= -1e-12).all()
            assert np.linalg.norm(layer[name], 2) <= 1.0 + 1e-6
    assert (spec["readout"]["W"] >= -1e-12).all()


def test_training_windows_stop_before_the_cut(tmy_slice):
    cut = chronological_cut(tmy_slice)
    w = make_windows(tmy_slice, 4, 3)
    last_target = w.origins + 3 * pd.Timedelta("1h")
    expected = int((w.complete & w.daytime.any(axis=1) & (last_target < cut)).sum())
    m = IrradianceForecaster(**{**TINY, "epochs": 1}).fit(tmy_slice, end=cut)
    assert m.history_["n_train"] + m.history_["n_val"] == expected


def test_evaluate_persistence_against_itself_has_zero_skill(tmy_slice):
    cut = chronological_cut(tmy_slice)
    res = evaluate(SmartPersistence(horizon=2).fit(tmy_slice), tmy_slice, cut)
    for h in res["horizons"]:
        assert h["skill_vs_smart_persistence"] == pytest.approx(0.0, abs=1e-12)
        assert h["rmse"] > 0


def test_lstm_baseline_runs(tmy_slice):
    cut = chronological_cut(tmy_slice)
    m = IrradianceForecaster(kind="lstm", **TINY).fit(tmy_slice, end=cut)
    res = evaluate(m, tmy_slice, cut)
    assert len(res["horizons"]) == 3 and res["n_test"] > 0


def test_rolling_origin_backtest(tmy_slice):
    res = backtest(tmy_slice, {**TINY, "epochs": 1}, n_folds=2)
    assert len(res["folds"]) == 2
    # expanding window: the second fold trains on more data
    assert res["folds"][1]["n_train"] > res["folds"][0]["n_train"]
    assert res["folds"][0]["end"] == res["folds"][1]["start"]
    assert len(res["mean_skill"]) == 3


def test_errors(tmy_slice):
    with pytest.raises(NotFittedError):
        IrradianceForecaster().predict(tmy_slice)
    with pytest.raises(ConfigError, match="kind"):
        IrradianceForecaster(kind="ficnn").fit(tmy_slice)
    with pytest.raises(ConfigError):
        IrradianceForecaster(horizon=0).fit(tmy_slice)
    with pytest.raises(DataError):
        IrradianceForecaster().fit(tmy_slice.frame)


def test_cli_solar_datasets_json(capsys):
    import json

    from iclcontrol.cli import main

    assert main(["solar", "datasets", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {d["name"] for d in out["datasets"]} >= {"pvdaq-poa-15min"}


def test_cli_solar_forecast_json(tmp_path, capsys):
    import json

    from iclcontrol.cli import main

    csv = tmp_path / "ghi.csv"
    d = load_solar("tmy3-greensboro").slice("1990-05-01", "1990-05-20")
    pd.DataFrame(
        {
            "time": d.frame.index.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "ghi": d.y.to_numpy(),
            "temp": d.frame["temp_air"].to_numpy(),
        }
    ).to_csv(csv, index=False)
    code = main(
        [
            "solar",
            "forecast",
            "--data",
            str(csv),
            "--time-column",
            "time",
            "--target",
            "ghi",
            "--latitude",
            "36.1",
            "--longitude",
            "-79.95",
            "--horizon",
            "2",
            "--epochs",
            "1",
            "--hidden",
            "4",
            "--embedding",
            "2",
            "--variability",
            "0",
            "--covariates",
            "temp",
            "--out",
            str(tmp_path / "run"),
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [h["steps"] for h in out["horizons"]] == [1, 2]
    assert {"rmse", "mae", "mbe", "skill_vs_smart_persistence"} <= set(
        out["horizons"][0]
    )
    assert out["n_train"] > 0 and out["n_test"] > 0
    assert out["params"]["embedding"] == 2 and out["params"]["variability"] == 0
    assert out["params"]["covariates"] == ["temp"]
    assert (tmp_path / "run" / "metrics.json").is_file()
    assert (tmp_path / "run" / "skill_by_horizon.png").is_file()
    # the forecast CSV's first column is named (it had an empty header) and its
    # rows are issue times: measured_h1 is the input's value one step later
    table = pd.read_csv(out["files"]["forecast_csv"], index_col="issue_time")
    issue = pd.to_datetime(table.index, utc=True)
    later = d.y.reindex(issue + pd.Timedelta("1h")).to_numpy()
    measured = table["measured_h1"].to_numpy()
    both = np.isfinite(measured) & np.isfinite(later)
    assert both.sum() > 50
    np.testing.assert_allclose(measured[both], np.clip(later[both], 0, None))


@pytest.mark.slow
def test_reference_targets_on_pvdaq():
    """REFERENCE.md targets: skill >= 0.05 (1 step) and >= 0.10 (4 steps), under the
    REFERENCE protocol: readings above 1.5 x clear-sky POA + 100 W/m^2 discarded.

    (The full quality control also blanks the May-July 2023 clock drift found by
    shifts_ruptures, which removes 63 days from the held-out period; the skill there
    is reported in docs/solar_results.md.)"""
    import torch

    from iclcontrol.solar.data import SolarData

    torch.set_num_threads(1)
    raw = load_solar("pvdaq-poa-15min")
    cs = clearsky_target(raw)
    frame = raw.frame.copy()
    frame.loc[raw.y > 1.5 * cs + 100.0, raw.target] = np.nan
    d = SolarData(frame, raw.target, raw.site)
    cut = chronological_cut(d)
    m = IrradianceForecaster(kind="iclrnn", horizon=4, lags=8, epochs=25).fit(
        d, end=cut
    )
    res = evaluate(m, d, cut)
    skills = [h["skill_vs_smart_persistence"] for h in res["horizons"]]
    # smart persistence matches the REFERENCE baselines (122 and 207 W/m^2)
    assert res["horizons"][0]["rmse_reference"] == pytest.approx(122, abs=3)
    assert res["horizons"][3]["rmse_reference"] == pytest.approx(207, abs=4)
    assert skills[3] >= 0.10
    # met since the delay-embedding and variability features (docs/solar_results.md)
    assert skills[0] >= 0.05


def test_context_windows_extend_the_plain_ones(tmy_slice):
    from iclcontrol.solar.features import feature_frame
    from iclcontrol.solar.forecast import CONTEXT_FEATURES

    lags, h = 4, 6
    plain = make_windows(tmy_slice, lags, h)
    ctx = make_windows(tmy_slice, lags, h, context=True, stride=3)
    n_s = len(STEP_FEATURES)
    assert ctx.X.shape[2] == n_s + len(CONTEXT_FEATURES)
    # stride keeps every third issue time; the step features are unchanged
    assert ctx.origins.equals(plain.origins[::3])
    np.testing.assert_array_equal(ctx.X[:, :, :n_s], plain.X[::3])
    np.testing.assert_array_equal(ctx.truth, plain.truth[::3])
    # lead time in hours: 0 over the past, 1..h over the future (hourly data)
    lead = ctx.X[0, :, n_s + 3]
    np.testing.assert_array_equal(lead, [0.0] * lags + list(range(1, h + 1)))
    # trailing daytime statistics at the issue time, by hand: mean and spread of
    # the daytime clear-sky index over (t - 24 h, t], held over the future steps
    ff = feature_frame(tmy_slice)
    k = 40
    t = ctx.origins[k]
    win = ff[(ff.index > t - pd.Timedelta("24h")) & (ff.index <= t) & ff["daytime"]]
    np.testing.assert_allclose(ctx.X[k, lags - 1 :, n_s], win["csi"].mean())
    np.testing.assert_allclose(ctx.X[k, lags:, n_s + 1], win["csi"].std(ddof=0))
    with pytest.raises(ConfigError, match="stride"):
        make_windows(tmy_slice, lags, h, stride=0)


def test_delay_embedding_holds_earlier_clear_sky_indices(tmy_slice):
    lags, h, e = 4, 3, 2
    plain = make_windows(tmy_slice, lags, h)
    emb = make_windows(tmy_slice, lags, h, embedding=e)
    n_s = len(STEP_FEATURES)
    assert emb.X.shape[2] == n_s + e
    np.testing.assert_array_equal(emb.X[:, :, :n_s], plain.X)
    y = tmy_slice.y
    csi = np.asarray(clearsky_index(y, clearsky_target(tmy_slice)), dtype=float)
    k = 100
    t = k + lags - 1  # issue time row
    for j in range(lags):  # past step s = t - lags + 1 + j: csi(s - 1), csi(s - 2)
        s = t - lags + 1 + j
        expect = np.nan_to_num(csi[[s - 1, s - 2]], nan=1.0)
        np.testing.assert_allclose(emb.X[k, j, n_s:], expect)
    # future steps hold the lags of the issue time: nothing after t is used
    np.testing.assert_allclose(
        emb.X[k, lags:, n_s:],
        np.tile(np.nan_to_num(csi[[t - 1, t - 2]], nan=1.0), (h, 1)),
    )
    m = IrradianceForecaster(embedding=e, variability=0, **TINY)
    m.fit(tmy_slice, windows=emb)
    assert m.export_spec()["feature_names"][-2:] == ["csi_lag1", "csi_lag2"]
    assert (
        m.predict(tmy_slice, start=tmy_slice.y.index[-50]).shape[1] == TINY["horizon"]
    )
    with pytest.raises(ConfigError, match="embedding"):
        IrradianceForecaster(embedding=-1, **TINY).fit(tmy_slice)


def test_variability_features_by_hand(tmy_slice):
    lags, h, v = 4, 3, 3
    w = make_windows(tmy_slice, lags, h, embedding=1, variability=v)
    n_s = len(STEP_FEATURES)
    assert w.X.shape[2] == n_s + 1 + 2
    csi = np.asarray(clearsky_index(tmy_slice.y, clearsky_target(tmy_slice)))
    # an afternoon window with changing clouds: every value is measured
    k = next(
        k
        for k in range(200, len(w.origins))
        if np.all(np.isfinite(csi[k - 3 : k + lags]))
        and np.ptp(csi[k - 3 : k + lags]) > 0.2
    )
    t = k + lags - 1
    for j in range(lags):
        s = t - lags + 1 + j
        expect = np.mean(np.abs(np.diff(csi[s - v : s + 1])))  # last v changes
        np.testing.assert_allclose(w.X[k, j, -2], expect)
        np.testing.assert_allclose(w.X[k, j, -1], csi[s] * expect)
    # future steps: the issue time's variability, times the held index csi(t)
    np.testing.assert_allclose(w.X[k, lags:, -2], w.X[k, lags - 1, -2])
    np.testing.assert_allclose(w.X[k, lags:, -1], csi[t] * w.X[k, lags - 1, -2])
    m = IrradianceForecaster(embedding=1, variability=v, **TINY)
    assert m.feature_names()[-3:] == (
        "csi_lag1",
        "csi_variability",
        "csi_x_variability",
    )
    with pytest.raises(ConfigError, match="variability"):
        IrradianceForecaster(variability=1.5, **TINY).fit(tmy_slice)


@pytest.mark.parametrize("kind", ["lstm", "rnn"])
def test_an_untrained_network_starts_centred_on_smart_persistence(tmy_slice, kind):
    # lr = 0 keeps the initial weights. The readout is centred so that the mean
    # correction to smart persistence over the first training windows is 0; an
    # LSTM whose outputs started far from it clipped every forecast to 0 and
    # never trained (no gradient through the clip)
    import torch

    params = {**TINY, "lr": 0.0, "epochs": 1}
    m = IrradianceForecaster(kind=kind, **params).fit(tmy_slice)
    w = make_windows(tmy_slice, m.lags, m.horizon, **m.window_options())
    n_first = min(512, m.history_["n_train"])
    first = np.flatnonzero(w.complete & w.daytime.any(axis=1))[:n_first]
    with torch.no_grad():
        o = m.network_(torch.from_numpy(m.x_scaler_.transform(w.X[first])))
    assert float(o[:, m.lags :, 0].mean()) == pytest.approx(0.5, abs=1e-9)


def _with_covariates(tmy_slice):
    """The slice with a clear-sky index drawn i.i.d. uniform on [0.2, 1] every hour,
    a perfect forecast of it (``csi_forecast``) and a measured ``sensor`` column."""
    from iclcontrol.solar.data import SolarData

    cs = clearsky_target(tmy_slice).to_numpy()
    k = np.random.default_rng(0).uniform(0.2, 1.0, cs.size)
    frame = tmy_slice.frame.copy()
    frame[tmy_slice.target] = k * cs
    frame["csi_forecast"] = k
    frame["sensor"] = np.arange(cs.size, dtype=float)
    return SolarData(frame, tmy_slice.target, tmy_slice.site)


def test_covariate_windows_by_hand(tmy_slice):
    d = _with_covariates(tmy_slice)
    lags, h = 4, 3
    d.frame.loc[d.frame.index[300], "sensor"] = np.nan
    w = make_windows(
        d, lags, h, covariates=("sensor",), future_covariates=("csi_forecast",)
    )
    assert w.X.shape[2] == len(STEP_FEATURES) + 2
    k = 100
    t = k + lags - 1
    sensor, fc = w.X[k, :, -2], w.X[k, :, -1]
    # measured: up to the issue time, then held; known in advance: its own times
    np.testing.assert_array_equal(sensor, [t - 3, t - 2, t - 1, t, t, t, t])
    np.testing.assert_allclose(fc, d.frame["csi_forecast"].to_numpy()[t - 3 : t + 4])
    # a missing past measurement: the windows that read it are not complete, and
    # their forecasts are NaN
    reads = (np.arange(len(w.origins)) + lags - 1 >= 300) & (
        np.arange(len(w.origins)) <= 300
    )
    assert not w.covariates_known[reads].any() and w.covariates_known[~reads].all()
    assert not w.complete[reads].any()
    m = IrradianceForecaster(
        covariates=("sensor",), future_covariates=("csi_forecast",), **TINY
    ).fit(d)
    fc = m.predict(d)
    assert fc[reads].isna().all().all() and fc[~reads].notna().any().any()


def test_a_known_in_advance_covariate_is_used(tmy_slice):
    # The index is i.i.d.: without the covariate the best forecast is its mean,
    # whose skill over persistence is 1 - sqrt(var / (2 var)) = 0.29. Fed a
    # perfect forecast of the index, the forecaster must do far better.
    d = _with_covariates(tmy_slice)
    cut = chronological_cut(d)
    params = {**TINY, "epochs": 15, "lr": 0.02, "embedding": 0, "variability": 0}
    m = IrradianceForecaster(future_covariates=["csi_forecast"], **params)
    skill = evaluate(m.fit(d, end=cut), d, cut)["horizons"]
    assert min(h["skill_vs_smart_persistence"] for h in skill) > 0.6
    assert m.export_spec()["feature_names"][-1] == "future:csi_forecast"


def test_covariate_errors_name_the_problem(tmy_slice):
    d = _with_covariates(tmy_slice)
    with pytest.raises(DataError, match=r"not in the data.*csi_forecast"):
        IrradianceForecaster(covariates=("cloud",), **TINY).fit(d)
    with pytest.raises(ConfigError, match="target"):
        IrradianceForecaster(covariates=(d.target,), **TINY).fit(d)
    with pytest.raises(ConfigError, match="sequence of column names"):
        IrradianceForecaster(covariates="sensor", **TINY).fit(d)
    with pytest.raises(ConfigError, match="twice"):
        make_windows(d, 4, 3, covariates=("sensor",), future_covariates=("sensor",))


def test_climatology_reproduces_a_constant_clear_sky_index(tmy_slice):
    from iclcontrol.solar.data import SolarData
    from iclcontrol.solar.forecast import ClearSkyIndexClimatology

    # an irradiance that is always 0.6 x clear sky: every month-hour mean is 0.6
    # and the forecast is 0.6 x clear sky of the target time, at every lead
    cs = clearsky_target(tmy_slice)
    frame = tmy_slice.frame.copy()
    frame[tmy_slice.target] = 0.6 * cs
    d = SolarData(frame, tmy_slice.target, tmy_slice.site)
    clim = ClearSkyIndexClimatology(horizon=5).fit(d)
    fc = clim.predict(d)
    w = make_windows(d, 1, 5)
    np.testing.assert_allclose(fc.to_numpy(), 0.6 * w.clearsky, atol=1e-9)
    # month-hours never seen in daytime (here: January) fall back to hour means
    assert np.allclose(clim.table_.loc[1].dropna(), 0.6)


def test_day_ahead_forecaster_with_context_fits_and_predicts(tmy_slice):
    cut = chronological_cut(tmy_slice)
    m = IrradianceForecaster(
        hidden=4, epochs=1, lags=4, horizon=24, context=True, stride=2
    ).fit(tmy_slice, end=cut)
    fc = m.predict(tmy_slice, start=cut)
    assert list(fc.columns) == [f"h{j}" for j in range(1, 25)]
    assert fc.index[0] >= cut
    spec = m.export_spec()
    assert spec["feature_names"] == list(m.feature_names())
    assert "lead_rbf4" in spec["feature_names"]
    # windows without the context features do not fit this forecaster
    with pytest.raises(ConfigError, match="features per step"):
        IrradianceForecaster(hidden=4, epochs=1, lags=4, horizon=24, context=True).fit(
            tmy_slice, windows=make_windows(tmy_slice, 4, 24)
        )


def test_quantile_forecasters_are_ordered(tmy_slice):
    # the pinball loss pulls a 0.1-quantile forecaster below a 0.9-quantile one:
    # on held-out daytime targets, fewer measurements fall below the former
    cut = chronological_cut(tmy_slice)
    params = {**TINY, "epochs": 4}
    lo = IrradianceForecaster(quantile=0.1, **params).fit(tmy_slice, end=cut)
    hi = IrradianceForecaster(quantile=0.9, **params).fit(tmy_slice, end=cut)
    w = make_windows(tmy_slice, TINY["lags"], TINY["horizon"], **lo.window_options())
    keep = (w.origins >= cut) & w.daytime[:, 0] & np.isfinite(w.truth[:, 0])
    f_lo = lo.predict(tmy_slice, windows=w).to_numpy()[keep, 0]
    f_hi = hi.predict(tmy_slice, windows=w).to_numpy()[keep, 0]
    t = w.truth[keep, 0]
    assert np.mean(t <= f_lo) < np.mean(t <= f_hi)
    assert np.mean(f_lo) < np.mean(f_hi)
    with pytest.raises(ConfigError, match="quantile"):
        IrradianceForecaster(quantile=1.5).fit(tmy_slice)


def test_run_forecast_warns_on_few_daytime_samples(tmp_path):
    """A tiny test period: every lead is scored on < 100 daytime samples, the JSON
    says so and carries ``n`` per horizon."""
    from iclcontrol.solar.data import load_solar
    from iclcontrol.solar.workflows import MIN_SCORED_SAMPLES, run_forecast

    d = load_solar("tmy3-greensboro").slice("1990-06-01", "1990-06-10 23:00")
    res = run_forecast(
        d, horizon=2, qc=False, epochs=1, hidden=4, lags=6, random_state=0
    )
    ns = [h["n"] for h in res["horizons"]]
    assert all(0 < n < MIN_SCORED_SAMPLES for n in ns)
    assert len(res["warnings"]) == len(ns)
    assert f"only {ns[0]} daytime test samples" in res["warnings"][0]
    assert "n_test" in res["n_note"]
    # machine-readable step next to pandas' text "0 days 01:00:00" (hourly TMY3)
    assert res["resolution_minutes"] == 60.0


def test_plots_integer_steps_and_legend_outside(tmp_path, monkeypatch):
    from iclcontrol.solar import plots as P

    figs = []

    def keep(fig, path):  # keep the figure open instead of writing it
        fig.tight_layout()
        fig.canvas.draw()
        figs.append(fig)
        return path

    monkeypatch.setattr(P, "_save", keep)
    results = {
        "m": [{"steps": s, "skill_vs_smart_persistence": 0.1} for s in (1, 2, 3)]
    }
    P.plot_skill_by_horizon(results, tmp_path / "s.png")
    ticks = figs[0].axes[0].get_xticks()
    np.testing.assert_array_equal(ticks, np.round(ticks))
    idx = pd.date_range("2020-01-01", periods=48, freq="h", tz="UTC")
    traces = {k: pd.DataFrame({"E": np.linspace(0, 5, 48)}, index=idx) for k in "ab"}
    P.plot_dispatch(traces, tmp_path / "d.png")
    ax = figs[1].axes[0]
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 >= ax.get_window_extent().x1  # right of the axes
    # the axis names the zone of its clock (it said "local time" of UTC data)
    assert ax.get_xlabel() == "time (UTC)" and "stored energy" in ax.get_title()


def test_error_by_hour_groups_by_valid_time_and_days_show_hours(tmp_path, monkeypatch):
    """The error plot said 'hour of issue time' while its docstring promised the
    valid time; a 1-step (1 h) forecast issued at 10:00 is valid at 11:00."""
    from iclcontrol.solar import plots as P

    idx = pd.date_range("1990-10-20", periods=48, freq="h", tz="Etc/GMT+5")
    truth = pd.DataFrame({"h1": np.full(48, 300.0), "h2": np.full(48, 300.0)}, idx)
    forecast = truth.copy()
    forecast.loc[idx.hour == 10, "h1"] += 10.0  # issued at 10:00, valid at 11:00
    forecast.loc[idx.hour == 10, "h2"] += 20.0  # valid at 12:00
    frames = {
        "truth": truth,
        "forecast": forecast,
        "persistence": truth + 3.0,
        "daytime": pd.DataFrame(True, index=idx, columns=["h1", "h2"]),
    }
    by_hour = P.error_by_hour(frames, step=1)
    assert by_hour.loc[11, "forecast"] == pytest.approx(10.0)
    assert by_hour["forecast"].drop(11).abs().max() == 0.0
    assert by_hour["persistence"].to_numpy() == pytest.approx(3.0)
    assert P.error_by_hour(frames, step=2).loc[12, "forecast"] == pytest.approx(20.0)

    figs = []

    def keep(fig, path):  # keep the figure open instead of writing it
        fig.canvas.draw()
        figs.append(fig)
        return path

    monkeypatch.setattr(P, "_save", keep)
    P.plot_error_by_hour(frames, tmp_path / "e.png")
    ax = figs[0].axes[0]
    # Etc/GMT+5 is UTC-5 (the sign of the Etc names is the reverse)
    assert ax.get_xlabel() == "hour of the valid time (UTC-05:00)"
    assert "1-step-ahead (1 h)" in ax.get_title()
    P.plot_forecast_days(frames, tmp_path / "d.png", n_days=1)
    ax = figs[1].axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    # local hours only (the date is the title), in the data's own time zone
    assert labels and all(len(s) == 5 and s[2] == ":" for s in labels)
    assert set(labels) == {"00:00", "06:00", "12:00", "18:00"}
    assert ax.get_xlabel() == "valid time of the forecast (UTC-05:00)"
    assert len(labels) <= 5  # readable: no overlapping labels on a 4.5-in panel
    assert "1-step-ahead (1 h)" in figs[1]._suptitle.get_text()


def test_predict_on_a_shuffled_frame_equals_predict_on_the_data(fitted, tmy_slice):
    """A DataFrame without index.freq (shuffled rows, a row logged twice) is put
    back on the grid, as load_solar does for files."""
    model, cut = fitted
    twice = pd.concat([tmy_slice.frame, tmy_slice.frame.iloc[[100]]])
    shuffled = twice.sample(frac=1.0, random_state=0)
    assert shuffled.index.freq is None
    expected = model.predict(tmy_slice, start=cut)
    got = model.predict(shuffled, start=cut)
    pd.testing.assert_frame_equal(got, expected)


def test_fit_on_a_dataframe_says_how_to_wrap_it(tmy_slice):
    with pytest.raises(DataError, match=r"SolarData\(frame, target=.*Site\("):
        IrradianceForecaster(**TINY).fit(tmy_slice.frame)


def test_forecaster_is_a_scikit_learn_estimator():
    import sklearn.base

    model = IrradianceForecaster(hidden=8, horizon=3, verbose=True)
    r = repr(model)
    assert r.startswith("IrradianceForecaster(") and "hidden=8" in r
    assert "lr=" not in r  # defaults are not listed
    assert model.set_params(hidden=4) is model and model.hidden == 4
    copy = sklearn.base.clone(model)
    # every constructor argument survives, verbose included
    assert copy.get_params() == model.get_params() and copy.verbose is True


def test_smart_persistence_predicts_from_a_dataframe(tmy_slice):
    """Same API as the forecaster: a DataFrame takes the fitted site."""
    sp = SmartPersistence(horizon=2).fit(tmy_slice)
    pd.testing.assert_frame_equal(sp.predict(tmy_slice.frame), sp.predict(tmy_slice))


def test_evaluate_without_start_scores_every_issue_time(tmy_slice):
    sp = SmartPersistence(horizon=2).fit(tmy_slice)
    everything = evaluate(sp, tmy_slice)
    first = tmy_slice.frame.index[0]
    assert everything["n_test"] == evaluate(sp, tmy_slice, first)["n_test"] > 0
    # a DataFrame takes the fitted site, as predict does
    assert evaluate(sp, tmy_slice.frame)["n_test"] == everything["n_test"]


def test_predict_refuses_data_of_another_step(fitted, tmy_slice):
    """Fit on hourly data, the lags and h1..h3 are hours; on 15-min data they
    would silently become quarter hours."""
    model, _ = fitted
    quarter = tmy_slice.frame.resample("15min").interpolate()
    data = SolarData(quarter, tmy_slice.target, tmy_slice.site)
    assert data.freq == pd.Timedelta("15min")
    with pytest.raises(DataError, match=r"fit on 60-min steps but the data has 15-min"):
        model.predict(data)


def test_predict_on_the_same_data_in_utc_gives_the_same_forecast(fitted, tmy_slice):
    """The calendar features read the local clock: the same instants given in UTC
    were other hours of the day and another forecast. Now the data is converted
    to the training zone, and the forecast comes back in the zone it came in."""
    model, cut = fitted
    local = model.predict(tmy_slice, start=cut)
    utc = model.predict(tmy_slice.frame.tz_convert("UTC"), start=cut)
    assert str(utc.index.tz) == "UTC"
    # the same instants, the same values (a pandas comparison across zones)
    pd.testing.assert_frame_equal(utc.tz_convert(local.index.tz), local)
    sp = SmartPersistence(horizon=2).fit(tmy_slice)
    data_utc = SolarData(
        tmy_slice.frame.tz_convert("UTC"), tmy_slice.target, tmy_slice.site
    )
    assert str(sp.predict(data_utc).index.tz) == "UTC"


def test_start_and_end_without_a_zone_are_local_time(fitted, tmy_slice):
    """'1990-06-01' used to be a TypeError (naive vs aware comparison); it is the
    data's local midnight, as tmy_slice.frame.loc['1990-06-01':] reads it."""
    model, _ = fitted
    pred = model.predict(tmy_slice, start="1990-06-01")
    assert pred.index[0] == tmy_slice.frame.loc["1990-06-01":].index[0]
    sp = SmartPersistence(horizon=2).fit(tmy_slice)
    assert evaluate(sp, tmy_slice, "1990-06-01")["n_test"] > 0
    early = IrradianceForecaster(**TINY).fit(tmy_slice, end="1990-05-25")
    late = IrradianceForecaster(**TINY).fit(tmy_slice, end="1990-06-01")
    # 7 more days of hourly issue times (only complete daytime windows count)
    assert 0 < early.history_["n_train"] < late.history_["n_train"]
    with pytest.raises(DataError, match="expected a time"):
        model.predict(tmy_slice, start="next tuesday")


def test_windows_too_large_for_memory_are_refused_with_the_fix(tmy_slice, monkeypatch):
    """A year of 1-min data (14 GB of windows with 2 h of lags) got the process
    killed by the system; now a DataError gives the size and what to change."""
    import iclcontrol.data
    import iclcontrol.solar.windows as W

    n = len(tmy_slice.frame)  # hourly steps
    lags, horizon = 4, 3
    n_windows = n - (lags + horizon) + 1
    n_features = len(W.feature_names())
    gigabytes = n_windows * (lags + horizon) * n_features * 8 / 1e9
    monkeypatch.setattr(iclcontrol.data, "MAX_WINDOWS_GB", gigabytes * 0.99)
    with pytest.raises(DataError, match=rf"{n_windows} issue times x 7 steps.*--lags"):
        make_windows(tmy_slice, lags, horizon)
    monkeypatch.setattr(iclcontrol.data, "MAX_WINDOWS_GB", gigabytes * 1.01)
    assert make_windows(tmy_slice, lags, horizon).X.shape == (
        n_windows,
        lags + horizon,
        n_features,
    )


def test_reference_forecasts_are_estimators_like_the_forecaster():
    """SmartPersistence and ClearSkyIndexClimatology say "same API as
    IrradianceForecaster", but had no get_params: sklearn.base.clone raised
    TypeError and repr was '<... object at 0x...>'."""
    from sklearn.base import clone

    from iclcontrol.solar.forecast import ClearSkyIndexClimatology, SmartPersistence

    for cls in (SmartPersistence, ClearSkyIndexClimatology):
        reference = cls(horizon=6)
        assert reference.get_params() == {"horizon": 6, "lags": 1}
        assert repr(reference) == f"{cls.__name__}(horizon=6)"
        copy = clone(reference)
        assert type(copy) is cls and copy is not reference
        assert copy.get_params() == {"horizon": 6, "lags": 1}
        assert reference.set_params(lags=2) is reference and reference.lags == 2


def test_verbose_training_reports_on_stderr_not_stdout(tmy_slice, capsys):
    """verbose=True printed the epochs on stdout, mixed into a script's own
    output (and before the JSON line a caller parses); progress is stderr's."""
    two_weeks = tmy_slice.slice("1990-05-01", "1990-05-14")
    IrradianceForecaster(**{**TINY, "epochs": 2, "verbose": True}).fit(two_weeks)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("epoch ") == 2


def test_radial_basis_features_encode_each_steps_index_and_hour(tmy_slice):
    """csi_rbf: Gaussians of the step's clear-sky index (held over the future,
    NaN read as 1) centred at 0, 0.3 .. 1.2, width 0.2; hour_rbf: Gaussians of
    the step's hour centred every 4 h, width 2.5 h, periodic over 24 h. Computed
    here on every window (the straightforward way) with the documented centres."""
    lags, h = 6, 4
    frame = tmy_slice.frame.copy()
    frame.iloc[50:53, 0] = np.nan  # missing readings: index read as 1
    d = SolarData(frame, tmy_slice.target, tmy_slice.site)
    w = make_windows(d, lags, h)
    names = list(STEP_FEATURES)
    csi_cols = [names.index(f"csi_rbf{i}") for i in range(5)]
    hour_cols = [names.index(f"hour_rbf{i}") for i in range(6)]
    csi_in_window = w.X[:, :, names.index("csi")]
    assert np.isnan(clearsky_index(d.y, clearsky_target(d))[50:53]).all()
    centres = np.array([0.0, 0.3, 0.6, 0.9, 1.2])
    expected = np.exp(-0.5 * ((csi_in_window[:, :, None] - centres) / 0.2) ** 2)
    # same formula on differently shaped arrays: equal to the last bit or so
    np.testing.assert_allclose(w.X[:, :, csi_cols], expected, rtol=1e-14, atol=0)
    n = len(w.origins)
    steps = np.arange(n)[:, None] + np.arange(lags + h)[None, :]
    idx = d.frame.index
    hour = np.asarray(idx.hour + idx.minute / 60.0)[steps]
    gap = np.abs(hour[:, :, None] - np.arange(6) * 4.0)
    gap = np.minimum(gap, 24.0 - gap)
    expected = np.exp(-0.5 * (gap / 2.5) ** 2)
    np.testing.assert_allclose(w.X[:, :, hour_cols], expected, rtol=1e-14, atol=0)
    # the issue time's index is held over the future steps
    np.testing.assert_array_equal(
        w.X[:, lags:, csi_cols], np.repeat(w.X[:, lags - 1 : lags, csi_cols], h, 1)
    )


def test_to_casadi_refuses_a_forecaster_whose_network_is_not_the_forecast(fitted):
    """to_casadi took the forecaster's spec and returned a Function 'in physical
    units' whose output was the network's scaled clear-sky index correction,
    not the W/m^2 forecast that predict computes around it."""
    from iclcontrol.export import to_casadi

    model, _ = fitted
    assert model.export_spec()["output_names"] == ["csi_correction"]
    with pytest.raises(ConfigError, match=r"IrradianceForecaster.*forecaster\.predict"):
        to_casadi(model)


def test_predict_on_a_weather_file_reads_it_in_the_forecasters_daylight_saving_zone(
    tmp_path, fitted
):
    """A forecaster fit on tmy3-greensboro with tz America/New_York (its typical
    year put in 2025 for today's daylight-saving rules) predicts on the same
    file: read in the file's own clock the year would be 1990 and the run's cut
    (--start) would name no data. The forecaster's zone is its default."""
    from iclcontrol.solar.workflows import predict_load_kwargs, run_predict

    local = load_solar("tmy3-greensboro", tz="America/New_York")
    month = local.slice("2025-05-01", "2025-06-09")
    cut = chronological_cut(month)
    model = IrradianceForecaster(kind="iclrnn", **TINY).fit(month, end=cut)
    assert predict_load_kwargs(model, {}) == {
        "target": "ghi",
        "tz": "America/New_York",
    }
    folder = model.save(tmp_path / "model")
    out = run_predict(folder, "tmy3-greensboro", start=cut, horizon=1)
    assert out["n_test"] > 0 and out["start"] == str(cut)
    # a forecaster of the file's own fixed clock (UTC-05:00) adds no zone
    assert predict_load_kwargs(fitted[0], {}) == {"target": "ghi"}
