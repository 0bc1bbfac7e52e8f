"""Readers, named datasets and quality control of iclcontrol.solar.data.

Fixtures in tests/data were produced by tests/data/make_solar_fixtures.py (its
docstring says what each file contains, so the expected counts below follow from it).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from iclcontrol.exceptions import ConfigError, DataError, IclControlWarning
from iclcontrol.solar.data import (
    DATASETS,
    Site,
    SolarData,
    check_irradiance_scale,
    check_solar_time,
    dataset_path,
    list_datasets,
    load_solar,
    quality_control,
    read_table,
    read_weather_file,
    regularize,
)
from iclcontrol.solar.features import clearsky_index, feature_frame

DATA = Path(__file__).parent / "data"


def test_named_datasets_are_found_in_installed_packages():
    listed = {d["name"]: d for d in list_datasets()}
    assert set(listed) == {"pvdaq-poa-15min", "tmy3-greensboro", "tmy3-sandpoint"}
    for name in DATASETS:
        assert listed[name]["available"]
        assert dataset_path(name).is_file()


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(DataError, match="tmy3-greensboro"):
        load_solar("no-such-dataset")


def test_tmy3_greensboro_reader():
    d = load_solar("tmy3-greensboro")
    # one TMY year of hourly values, coerced to a single year: 8760 regular rows
    assert len(d.frame) == 8760
    assert d.frame.index.freq == pd.Timedelta("1h")
    assert d.report["missing_steps"] == 0
    assert d.site.latitude == pytest.approx(36.1)
    assert d.site.label == "ending"
    assert str(d.frame.index.tz) == "UTC-05:00"
    # GHI is physical: never negative, below the solar constant
    assert d.y.min() >= 0 and d.y.max() < 1361


def test_tmy3_sandpoint_and_tmy2_miami_readers():
    import pvlib

    sp = load_solar("tmy3-sandpoint")
    assert len(sp.frame) == 8760 and sp.site.latitude == pytest.approx(55.317)
    miami = load_solar(Path(pvlib.__file__).parent / "data" / "12839.tm2")
    assert len(miami.frame) == 8760
    assert miami.site.name == "MIAMI"
    # TMY2 temperature is stored in 0.1 degC: Miami air temperatures are 3-34 degC
    assert 0 < miami.frame["temp_air"].min() and miami.frame["temp_air"].max() < 40


def test_epw_reader_on_fixture():
    d = read_weather_file(DATA / "tiny.epw")
    assert len(d.frame) == 48
    assert d.site.label == "beginning"
    assert d.site.longitude == pytest.approx(-79.95)
    # same GHI as the first hours of the TMY3 file it was written from
    tmy = load_solar("tmy3-greensboro")
    np.testing.assert_allclose(d.y.to_numpy()[:24], tmy.y.to_numpy()[:24])


def test_csv_with_dst_gaps_duplicates_unsorted_negative():
    frame, report = read_table(
        DATA / "solar_dst_gaps.csv",
        "timestamp",
        "ghi",
        ["temp_air"],
        tz="America/Denver",
    )
    # 2021-11-06 00:00 MDT .. 2021-11-08 00:00 MST is 49 h: 50 hourly rows,
    # including both 01:00 hours of the DST change
    assert len(frame) == 50
    assert frame.index.freq == pd.Timedelta("1h")
    assert frame.index[0] == pd.Timestamp("2021-11-06 06:00", tz="UTC")
    assert frame.index[-1] == pd.Timestamp("2021-11-08 07:00", tz="UTC")
    assert report["duplicate_timestamps"] == 1
    assert report["unsorted_rows"] > 0
    assert report["missing_steps"] == 3
    assert report["gaps"] == [
        {
            "start": report["gaps"][0]["start"],
            "end": report["gaps"][0]["end"],
            "steps": 3,
        }
    ]
    assert report["negative_values_zeroed"] == 1
    assert frame["ghi"].min() == 0.0
    assert report["nonexistent_or_ambiguous_times_dropped"] == 0


def test_csv_with_offsets_and_missing_column():
    frame, report = read_table(DATA / "solar_offsets.csv", "time", "poa")
    assert len(frame) == 6 and frame.index.freq == pd.Timedelta("15min")
    assert frame.index[0] == pd.Timestamp("2021-06-01 16:00", tz="UTC")
    # one offset in the whole file (-06:00): the file's clock is kept (it was
    # converted to UTC, so forecasts and plots came out in UTC hours)
    assert frame.index[0].hour == 10 and frame.index[0].utcoffset() == pd.Timedelta(
        "-6h"
    )
    assert report["timestamps"] == "with UTC offset UTC-06:00 (kept)"

    with pytest.raises(DataError, match="no column"):
        read_table(DATA / "solar_offsets.csv", "time", "ghi")


def test_offsets_that_change_are_read_as_utc_and_reported(tmp_path):
    """-06:00 then -07:00 (daylight saving ends): no one fixed zone fits."""
    text = pd.read_csv(DATA / "solar_offsets.csv")
    text.loc[3:, "time"] = text.loc[3:, "time"].str.replace("-06:00", "-07:00")
    path = tmp_path / "two_offsets.csv"
    text.to_csv(path, index=False)
    frame, report = read_table(path, "time", "poa")
    assert str(frame.index.tz) == "UTC"
    assert report["timestamps"].startswith("with 2 different UTC offsets")


def test_load_plain_table_needs_site():
    with pytest.raises(DataError, match="latitude"):
        load_solar(DATA / "solar_offsets.csv", time_column="time", target="poa")
    d = load_solar(
        DATA / "solar_offsets.csv",
        time_column="time",
        target="poa",
        latitude=39.74,
        longitude=-105.18,
        surface_tilt=40,
        surface_azimuth=180,
    )
    assert d.site.is_poa


def test_solar_position_without_data_or_site_is_a_config_error():
    """solar_geometry() / clearsky_target() without data, or with an index but
    no site, stopped on an ``assert`` (AssertionError, or under ``python -O`` an
    AttributeError deep in pvlib); a user's mistake is a ConfigError."""
    from iclcontrol.solar.features import clearsky_target, solar_geometry

    index = pd.date_range("2020-06-01", periods=3, freq="h", tz="UTC")
    for function in (solar_geometry, clearsky_target):
        with pytest.raises(ConfigError, match=r"data=.*both index=.*site=") as info:
            function(index=index)
        assert isinstance(info.value, ValueError)
        with pytest.raises(ConfigError, match="timestamps and a site"):
            function()


def test_regularize_rejects_naive_index():
    f = pd.DataFrame(
        {"y": [1.0, 2.0, 3.0]}, index=pd.date_range("2020", periods=3, freq="h")
    )
    with pytest.raises(DataError, match="time zone"):
        regularize(f, "y")


def test_clearsky_index_hand_values():
    k = clearsky_index(
        [500.0, 0.0, 1000.0, np.nan, 3.0], [1000.0, 800.0, 400.0, 900.0, 10.0]
    )
    # 0.5; 0; 2.5 clipped to 2; NaN stays; clear sky below 50 W/m^2 -> 1
    np.testing.assert_allclose(k, [0.5, 0.0, 2.0, np.nan, 1.0])


@pytest.fixture(scope="module")
def poa_slice():
    d = load_solar("pvdaq-poa-15min")
    return d.slice("2019-06-01", "2019-07-15")


def test_quality_control_flags_faults_with_pvanalytics(poa_slice):
    qc = quality_control(poa_slice)
    rep = qc.report
    assert set(rep["checks"]) == {"above_clearsky", "stale", "zscore", "clock_shift"}
    # independent check of the clear-sky limit: count readings above 1.5 cs + 100
    # with pvlib's clear sky of the same plane
    from iclcontrol.solar.features import clearsky_target

    cs = clearsky_target(poa_slice)
    y = poa_slice.y
    expected = int((y > 1.5 * cs + 100).sum())
    assert rep["checks"]["above_clearsky"]["flagged"] == expected
    # after QC nothing above the limit remains and flagged values are NaN
    y2 = qc.data.y
    assert not (y2 > 1.5 * cs + 100).any()
    assert y2[qc.flags.any(axis=1)].isna().all()
    assert rep["max_after_qc"] <= rep["max_before_qc"]


def test_quality_control_detects_injected_stale_and_spike(poa_slice):
    frame = poa_slice.frame.copy()
    day = frame.index[(frame.index.hour == 12) & (frame.index.minute == 0)][3]
    k = frame.index.get_loc(day)
    frame.iloc[k : k + 6, 0] = 432.1  # six identical midday readings: stale
    frame.iloc[k + 20, 0] = 4000.0  # far above any clear-sky value
    d = SolarData(frame, poa_slice.target, poa_slice.site)
    qc = quality_control(d)
    assert qc.flags["stale"].iloc[k + 2 : k + 6].all()
    assert qc.flags["above_clearsky"].iloc[k + 20]
    assert np.isnan(qc.data.y.iloc[k + 20])


def test_feature_frame_columns_and_daytime(poa_slice):
    ff = feature_frame(poa_slice.slice("2019-06-01", "2019-06-02"))
    assert {
        "y",
        "clearsky",
        "csi",
        "cos_zenith",
        "hour_sin",
        "doy_cos",
        "daytime",
    } <= set(ff)
    noon = ff.between_time("12:00", "12:15")
    assert noon["daytime"].all() and (noon["cos_zenith"] > 0.8).all()
    night = ff.between_time("00:00", "01:00")
    assert (~night["daytime"]).all() and (night["clearsky"] == 0).all()


def test_site_validation():
    with pytest.raises(ValueError, match="latitude"):
        Site("x", 95.0, 0.0)


def test_quality_control_finds_injected_clock_shift_with_shifts_ruptures():
    # 150 days of real POA data; the middle 50 days are moved one hour later (as a
    # logger whose clock jumped by an hour would record them). shifts_ruptures must
    # put change points around that stretch and flag it, and nothing far from it.
    import pandas.core.window as pcw

    pytest.importorskip("ruptures", reason="pvanalytics' shifts_ruptures needs it")
    d = load_solar("pvdaq-poa-15min").slice("2019-04-01", "2019-08-28")
    frame = d.frame.copy()
    days = frame.index.normalize()
    first = days[0]
    inside = (days >= first + pd.Timedelta(days=50)) & (
        days < first + pd.Timedelta(days=100)
    )
    y = frame[d.target].to_numpy().copy()
    shifted = np.roll(y, 4)  # 4 x 15 min: the reading of 10:00 appears at 11:00
    y[inside] = shifted[inside]
    frame[d.target] = y
    had_old_name = hasattr(pcw, "RollingGroupby")
    with pytest.warns(IclControlWarning, match="clock-shifted by about an hour"):
        qc = quality_control(SolarData(frame, d.target, d.site))
    rep = qc.report
    assert rep["clock_shift_method"].startswith("pvanalytics.quality.time")
    flagged_days = days[qc.flags["clock_shift"].to_numpy()].unique()
    in_days = days[inside].unique()
    # most of the shifted days flagged (change points may land a few days off) ...
    assert np.isin(in_days, flagged_days).mean() > 0.8
    # ... and no day more than 10 days away from the shifted stretch
    far = (flagged_days < in_days[0] - pd.Timedelta(days=10)) | (
        flagged_days > in_days[-1] + pd.Timedelta(days=10)
    )
    assert not far.any()
    # the shift is reported as +60 min (later than the clear-sky midday)
    assert any(
        s["shift_minutes"] == 60.0 for s in rep["midday_offset_minutes"]["segments"]
    )
    # the pandas-3 name shim for pvanalytics is removed again after the call
    assert hasattr(pcw, "RollingGroupby") == had_old_name


def test_tmy2_labels_the_start_of_the_hour():
    """pvlib's read_tmy2 indexes hour field ``h`` (period ending at h) as ``h - 1``:
    the label is the period start. With that label, measured GHI and clear-sky GHI
    correlate best at zero lag and nothing is flagged above clear sky at dawn."""
    import pvlib

    from iclcontrol.solar.features import clearsky_target

    d = load_solar(Path(pvlib.__file__).parent / "data" / "12839.tm2")
    assert d.site.label == "beginning"
    cs = clearsky_target(d)
    corr = {lag: d.y.corr(cs.shift(-lag)) for lag in (-1, 0, 1)}
    assert max(corr, key=corr.get) == 0
    # the user-test hours: 06:00-07:00 EST is after sunrise (~05:30 EST)
    assert cs.loc["1990-06-15 06:00"] > d.y.loc["1990-06-15 06:00"] > 0
    qc = quality_control(d)
    assert qc.report["checks"]["above_clearsky"]["flagged"] == 0
    # where the mid-hour sun is below the horizon only the sunrise/sunset hours
    # see a little light (max 30 W/m^2; 171 W/m^2 with the old "ending" label)
    assert d.y[cs == 0].max() < 50.0


def _clear_csv(path, start, periods, freq="15min", tz="America/Denver", jitter_s=0):
    """Naive local-time CSV of 0.8 x Ineichen clear-sky GHI at Golden, CO."""
    import pvlib

    idx = pd.date_range(start, periods=periods, freq=freq, tz=tz)
    loc = pvlib.location.Location(39.74, -105.18, altitude=1800)
    ghi = (0.8 * loc.get_clearsky(idx)["ghi"]).round(2).to_numpy()
    wall = idx.tz_localize(None)
    if jitter_s:
        rng = np.random.default_rng(0)
        wall = wall + pd.to_timedelta(
            rng.integers(-jitter_s, jitter_s + 1, len(idx)), "s"
        )
    pd.DataFrame({"time": wall.strftime("%Y-%m-%d %H:%M:%S"), "GHI": ghi}).to_csv(
        path, index=False
    )
    return idx, ghi


def test_naive_local_time_without_tz_is_reported(tmp_path):
    """Local Denver time read as UTC is 7 h (MST) behind the sun: clear error."""
    path = tmp_path / "local.csv"
    _clear_csv(path, "2023-01-10", 4 * 96, tz="Etc/GMT+7")
    kw = {"time_column": "time", "target": "GHI", "latitude": 39.74}
    with pytest.raises(DataError, match=r"7 h off solar time.*--tz"):
        load_solar(path, longitude=-105.18, **kw)
    d = load_solar(path, longitude=-105.18, tz="Etc/GMT+7", **kw)
    qc = quality_control(d)
    assert abs(qc.report["solar_time_lag_minutes"]) < 30
    assert qc.report["flagged_total"] == 0


def test_wrong_zone_or_longitude_sign_messages_suggest_the_right_fix(tmp_path):
    """Timestamps in the wrong zone: the suggested zone is the sun's, not the lag
    read as a UTC offset (Denver MST data read in New York was told 'Etc/GMT+2',
    UTC data read in Denver 'Etc/GMT-7'); a sign slip of the longitude is named."""
    path = tmp_path / "mst.csv"
    _clear_csv(path, "2023-01-10", 4 * 96, tz="Etc/GMT+7")  # MST wall clock
    kw = {"time_column": "time", "target": "GHI", "latitude": 39.74}
    # read in New York (UTC-5 in January): 2 h behind the sun; the sun says UTC-7
    d = load_solar(path, longitude=-105.18, tz="America/New_York", **kw)
    with pytest.raises(DataError, match="2 h off") as err:
        check_solar_time(d)
    assert "--tz Etc/GMT+7 (UTC-7" in str(err.value)
    assert "not local time in America/New_York" in str(err.value)
    assert "longitude" not in str(err.value)
    # UTC wall clock read as Denver time: the sun says UTC
    utc = tmp_path / "utc.csv"
    _clear_csv(utc, "2023-01-10", 4 * 96, tz="UTC")
    d = load_solar(utc, longitude=-105.18, tz="America/Denver", **kw)
    with pytest.raises(DataError, match=r"--tz UTC \(UTC\+0"):
        check_solar_time(d)
    # right zone, longitude east instead of west: the sign is named
    d = load_solar(path, longitude=105.18, tz="Etc/GMT+7", **kw)
    with pytest.raises(DataError, match=r"longitude's sign is wrong: 105.18 deg"):
        check_solar_time(d)


def test_a_kw_or_w_column_as_target_is_refused_naming_the_unit(tmp_path):
    """PV power in kW (5 kWp: peak about 5) or irradiance in kW/m^2 was read as
    W/m^2 and forecast, planned and plotted as such; PV power in W (several
    times the clear sky) had every daytime value flagged by QC."""
    path = tmp_path / "units.csv"
    _clear_csv(path, "2023-06-01", 4 * 96)
    frame = pd.read_csv(path)
    frame["pv_kw"] = frame["GHI"] * 5.0 / 1000.0  # 5 kWp at 1000 W/m^2
    frame["ghi_kwm2"] = frame["GHI"] / 1000.0
    frame["pv_w"] = frame["GHI"] * 5.0
    frame.to_csv(path, index=False)
    # the site of _clear_csv's clear sky, so that GHI is exactly 0.8 x clear sky
    site = Site("Golden", 39.74, -105.18, altitude=1800, tz="America/Denver")
    kw = {"time_column": "time", "tz": "America/Denver", "site": site}
    for column in ("pv_kw", "ghi_kwm2"):
        with pytest.raises(DataError, match=rf"'{column}'.*kW/m\^2 needs mult"):
            load_solar(path, target=column, **kw)
    # 5 x (0.8 x clear sky): 4 times the clear sky's level
    with pytest.raises(DataError, match=r"'pv_w'.*\(4.0 times as much\)"):
        load_solar(path, target="pv_w", **kw)
    # the W/m^2 column passes: 0.8 x clear sky, so the ratio is 0.8
    assert check_irradiance_scale(load_solar(path, target="GHI", **kw)) == (
        pytest.approx(0.8, abs=0.005)
    )
    # a SolarData built by hand is checked by quality_control
    d = load_solar(path, target="GHI", covariates=["pv_kw"], **kw)
    with pytest.raises(DataError, match="'pv_kw' does not look like irradiance"):
        quality_control(SolarData(d.frame, "pv_kw", d.site))


def test_column_errors_suggest_the_fix(tmp_path):
    path = tmp_path / "log.csv"
    _clear_csv(path, "2023-06-01", 96)
    frame = pd.read_csv(path)
    frame["status"] = "OK"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"did you mean 'GHI' for 'ghi'\?"):
        read_table(path, "time", "ghi", tz="America/Denver")
    with pytest.raises(DataError, match=r"status is not numeric.*holds text"):
        read_table(path, "time", "GHI", ["status"], tz="America/Denver")


def test_aware_parquet_times_follow_tz_and_epoch_numbers_are_named(tmp_path):
    """A timezone-aware Parquet column ignored tz (offset strings were converted)
    and was not reported; epoch seconds were 'not ISO 8601'."""
    idx = pd.date_range("2023-06-01", periods=48, freq="h", tz="America/Denver")
    frame = pd.DataFrame({"time": idx, "GHI": np.linspace(0.0, 470.0, 48)})
    path = tmp_path / "aware.parquet"
    frame.to_parquet(path)
    got, report = read_table(path, "time", "GHI", tz="UTC")
    assert str(got.index.tz) == "UTC"
    assert (got.index == idx).all()  # the same instants (pandas compares in UTC)
    assert report["timestamps"] == "with time zone America/Denver"
    epoch = tmp_path / "epoch.csv"
    seconds = (idx - pd.Timestamp("1970-01-01", tz="UTC")) // pd.Timedelta("1s")
    pd.DataFrame({"time": seconds, "GHI": frame["GHI"]}).to_csv(epoch, index=False)
    with pytest.raises(DataError, match=r"holds numbers.*unit='s'"):
        read_table(epoch, "time", "GHI")


def test_autumn_repeated_hour_is_resolved_from_file_order(tmp_path):
    """Both 01:xx hours of 2023-11-05 in file order: no row is dropped."""
    path = tmp_path / "fall.csv"
    idx, ghi = _clear_csv(path, "2023-11-04", 3 * 96 + 4)  # 25-h day: 4 more
    frame, report = read_table(path, "time", "GHI", tz="America/Denver")
    assert report["nonexistent_or_ambiguous_times_dropped"] == 0
    assert report["ambiguous_times_resolved_by_order"] == 8
    assert report["missing_steps"] == 0
    assert len(frame) == len(idx)
    assert (frame.index == idx).all()
    np.testing.assert_allclose(frame["GHI"].to_numpy(), ghi)


def test_jittered_timestamps_snap_to_the_grid(tmp_path):
    """15-min stamps +-20 s off: step 15 min, every row kept, snaps reported."""
    path = tmp_path / "jitter.csv"
    idx, ghi = _clear_csv(path, "2023-06-01", 3 * 96, jitter_s=20)
    raw = pd.to_datetime(pd.read_csv(path)["time"])
    frame, report = read_table(path, "time", "GHI", tz="America/Denver")
    assert report["freq"] == "15min"
    assert report["missing_steps"] == 0 and report["off_grid_dropped"] == 0
    assert report["snapped_to_grid"] == int((raw.dt.second != 0).sum())
    assert (frame.index == idx).all()
    np.testing.assert_allclose(frame["GHI"].to_numpy(), ghi)


def test_non_numeric_columns_are_named(tmp_path):
    path = tmp_path / "comma.csv"
    t = pd.date_range("2023-06-01", periods=8, freq="h").strftime("%Y-%m-%d %H:%M")
    pd.DataFrame({"time": t, "GHI": ["-0,36"] * 8, "temp": ["1.0"] * 8}).to_csv(
        path, index=False
    )
    with pytest.raises(DataError, match=r"column GHI is not numeric \(e.g. '-0,36'\)"):
        read_table(path, "time", "GHI", ["temp"], tz="UTC")
    part = tmp_path / "part.csv"
    ghi = ["1.0", "x", "3.0", "4.0", "n/a?", "6.0", "7.0", "8.0"]
    pd.DataFrame({"time": t, "GHI": ghi}).to_csv(part, index=False)
    frame, report = read_table(part, "time", "GHI", tz="UTC")
    assert report["non_numeric_values"] == {"GHI": 2}
    assert frame["GHI"].isna().sum() == 2


def test_missing_file_and_bad_zone_messages():
    from iclcontrol.exceptions import ConfigError

    with pytest.raises(DataError, match=r"nofile.csv not found.*tmy3-greensboro"):
        load_solar("nofile.csv")
    with pytest.raises(ConfigError, match="unknown time zone 'America/Denvr'"):
        read_table(DATA / "solar_dst_gaps.csv", "timestamp", "ghi", tz="America/Denvr")
    with pytest.raises(DataError, match="--time-column"):
        load_solar(DATA / "solar_offsets.csv")


def _clear_sky_frame() -> tuple[pd.DataFrame, Site]:
    """Two days of pvlib clear-sky GHI every 15 min at a tz-aware index."""
    import pvlib

    site = Site("golden", 39.74, -105.18, altitude=1800.0, tz="America/Denver")
    loc = pvlib.location.Location(site.latitude, site.longitude, site.tz, 1800.0)
    times = pd.date_range("2024-06-01", periods=192, freq="15min", tz=site.tz)
    return loc.get_clearsky(times)[["ghi"]], site


def test_solar_data_refuses_frames_it_cannot_forecast_on():
    frame, site = _clear_sky_frame()
    holed = frame.drop(frame.index[[5, 50]])  # two missing rows: no index.freq
    assert holed.index.freq is None
    with pytest.raises(DataError, match="regularize"):
        SolarData(holed, "ghi", site)
    with pytest.raises(DataError, match="timezone-aware"):
        SolarData(frame.tz_localize(None), "ghi", site)
    with pytest.raises(DataError, match=r"no target column 'poa_global'.*\['ghi'\]"):
        SolarData(frame, "poa_global", site)
    # the fix the message names: back on the 15-min grid, the holes as NaN rows
    regular, report = regularize(holed, "ghi")
    data = SolarData(regular, "ghi", site)
    assert data.freq == pd.Timedelta("15min") and len(data.frame) == len(frame)
    assert report["missing_steps"] == 2 and data.y.isna().sum() == 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"surface_tilt": 30.0}, "both surface_tilt and surface_azimuth"),
        ({"surface_tilt": 200.0, "surface_azimuth": 180.0}, "surface_tilt must be"),
        ({"surface_tilt": float("nan"), "surface_azimuth": 180.0}, "surface_tilt"),
        ({"surface_tilt": 30.0, "surface_azimuth": -5.0}, "surface_azimuth must"),
        ({"altitude": float("nan")}, "altitude must be finite"),
    ],
)
def test_site_refuses_an_incomplete_or_impossible_plane(kwargs, match):
    """A tilt without azimuth was a TypeError inside the clear-sky model."""
    with pytest.raises(ConfigError, match=match):
        Site("x", 39.74, -105.18, **kwargs)


def test_duplicates_with_other_values_are_counted_apart_from_repeats():
    """Two records of one time that disagree lost one of them silently (counted
    with verbatim repeats); the report now tells them apart."""
    hours = [10, 11, 11, 12, 12, 13]
    t = pd.DatetimeIndex([f"2023-06-01 {h}:00" for h in hours], tz="UTC")
    frame = pd.DataFrame({"ghi": [500.0, 600, 600, 700, 650, 720]}, index=t)
    out, report = regularize(frame, "ghi")
    assert report["duplicate_timestamps"] == 2  # 11:00 and 12:00 once more each
    assert report["duplicates_with_other_values"] == 1  # 12:00: 700 vs 650
    assert out.loc["2023-06-01 12:00", "ghi"].item() == 700.0  # the first is kept


def test_weather_files_take_tz_and_refuse_a_tables_site_arguments():
    """--tz and --latitude/... were ignored without a word for weather files and
    named datasets: tz now converts the clock, the site arguments are refused."""
    from iclcontrol.exceptions import ConfigError

    as_read = load_solar("tmy3-greensboro")
    local = load_solar("tmy3-greensboro", tz="America/New_York")
    assert str(local.frame.index.tz) == "America/New_York"
    # the same hours of the typical year, put in 2025 (current DST rules)
    years = pd.Timestamp("2025-01-01") - pd.Timestamp("1990-01-01")
    assert (local.frame.index == as_read.frame.index + years).all()
    assert local.frame.index.freq == as_read.frame.index.freq
    # July: EDT, one hour ahead of the file's EST
    july = local.frame.index[local.frame.index.month == 7]
    assert july[0].utcoffset() == pd.Timedelta("-4h")
    assert local.site.tz == "America/New_York"
    path = dataset_path("tmy3-greensboro")
    with pytest.raises(ConfigError, match=r"own site.*takes latitude \(CLI: --lat"):
        load_solar(path, latitude=40.0)
    with pytest.raises(ConfigError, match=r"--surface-tilt, --surface-azimuth"):
        load_solar("tmy3-greensboro", surface_tilt=30.0, surface_azimuth=180.0)


# pytest.warns re-emits pvlib's own pandas deprecation notice past the ini filter
@pytest.mark.filterwarnings("ignore:DatetimeIndex.dayofyear is deprecated")
def test_clock_one_hour_off_warns_naming_the_zone_but_period_ending_hours_do_not(
    tmp_path,
):
    """Denver (MST) data read as America/Chicago passed silently (the sun check
    allows 90 min) while QC flagged sunrise/sunset values. Hourly averages
    labelled at the end of their hour lag by half an hour (the average is centred
    half a step before its label) and must not be taken for a wrong zone."""
    import warnings

    from iclcontrol.exceptions import IclControlWarning

    kw = {"time_column": "time", "target": "GHI", "latitude": 39.74}
    path = tmp_path / "mst.csv"
    _clear_csv(path, "2023-01-10", 5 * 96, tz="Etc/GMT+7")
    d = load_solar(path, longitude=-105.18, tz="America/Chicago", **kw)
    with pytest.warns(IclControlWarning, match=r"about 1 h off.*\+60 min") as rec:
        qc = quality_control(d)
    # the sun says UTC-7: Chicago (UTC-6 in January) minus the +1 h lag
    (message,) = [str(w.message) for w in rec if w.category is IclControlWarning]
    assert "--tz Etc/GMT+7" in message
    assert qc.report["warnings"] == [message]
    assert qc.report["solar_time_lag_refined_minutes"] == 60
    # the workflows list it in their warnings (the CLI prints those), once
    from iclcontrol.solar.workflows import prepare

    with warnings.catch_warnings():
        warnings.simplefilter("error", IclControlWarning)
        assert prepare(d)[1]["warnings"] == [message]
    # the right zone: no warning
    d = load_solar(path, longitude=-105.18, tz="Etc/GMT+7", **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error", IclControlWarning)
        assert quality_control(d).report["warnings"] == []
    # hourly averages of the hour ending at the label, read as instants: the
    # whole-step lag is -1 h, the refined one about -30 min: no warning
    hourly = tmp_path / "ending.csv"
    idx = pd.date_range("2023-01-10 01:00", periods=5 * 24, freq="1h", tz="Etc/GMT+7")
    import pvlib

    loc = pvlib.location.Location(39.74, -105.18, altitude=1800)
    fine = pd.date_range(idx[0] - pd.Timedelta("1h"), idx[-1], freq="1min")
    ghi_1min = loc.get_clearsky(fine)["ghi"]
    ending = ghi_1min.resample("1h", closed="right", label="right").mean()
    pd.DataFrame(
        {"time": idx.tz_localize(None).strftime("%Y-%m-%d %H:%M"), "GHI": ending[idx]}
    ).to_csv(hourly, index=False)
    d = load_solar(hourly, longitude=-105.18, tz="Etc/GMT+7", **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error", IclControlWarning)
        qc = quality_control(d)
    assert qc.report["warnings"] == []
    assert abs(qc.report["solar_time_lag_refined_minutes"] + 30) <= 10
    # told that the labels end their hour, the sun is taken mid-hour: no lag
    d = load_solar(hourly, longitude=-105.18, tz="Etc/GMT+7", label="ending", **kw)
    assert d.site.label == "ending"
    assert abs(quality_control(d).report["solar_time_lag_refined_minutes"]) <= 10
    with pytest.raises(ConfigError, match="--label"):
        load_solar("tmy3-greensboro", label="ending")  # a weather file has its own
    from iclcontrol.cli import build_parser
    from iclcontrol.commands.solar import _load_kwargs

    args = build_parser().parse_args(
        ["solar", "forecast", "--data", str(hourly), "--label", "ending"]
    )
    assert _load_kwargs(args)["label"] == "ending"


def test_lag_search_coarse_then_fine_finds_the_exhaustive_best_lag():
    """The coarse-then-fine search on 1-min data returns the lag every-step search
    finds (computed here directly), and the lag put into the data."""
    import pvlib

    from iclcontrol.solar.data import _lag_correlations, solar_time_lag

    idx = pd.date_range("2023-03-01", periods=3 * 1440, freq="1min", tz="Etc/GMT+7")
    loc = pvlib.location.Location(39.74, -105.18, altitude=1800)
    rng = np.random.default_rng(1)
    site = Site("golden", 39.74, -105.18, 1800.0, tz="Etc/GMT+7")
    for true_lag in (-97, -8, 0, 37, 61):
        # y(t) = clear sky at t + true_lag, with cloud noise
        cs = loc.get_clearsky(idx + pd.Timedelta(minutes=true_lag))["ghi"].to_numpy()
        y = cs * rng.uniform(0.7, 1.0, len(idx))
        frame = pd.DataFrame({"ghi": y}, index=idx)
        frame.index.freq = "1min"
        d = SolarData(frame, "ghi", site)
        ref = loc.get_clearsky(idx)["ghi"].to_numpy()
        every = {}
        for lag in range(-720, 721):
            a, b = (y[: len(y) - lag], ref[lag:]) if lag >= 0 else (y[-lag:], ref[:lag])
            every[lag] = np.corrcoef(a, b)[0, 1]
        exhaustive = max(every, key=every.get)
        searched = _lag_correlations(y, ref, 720, pd.Timedelta("1min"))
        assert len(searched) < 200  # 97 coarse + 31 fine, not 1441
        assert max(searched, key=searched.get) == exhaustive
        lag = solar_time_lag(d) / pd.Timedelta("1min")
        assert lag == exhaustive
        assert abs(lag - true_lag) <= 2


def test_quality_control_shows_progress_when_asked(capsys):
    """A year of 1-min data took ~30 s of QC with nothing shown."""
    d = load_solar("tmy3-greensboro")
    quality_control(d, verbose=True)
    assert "solar QC" in capsys.readouterr().err
    quality_control(d)  # not a terminal: quiet
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "fmt", ["%Y-%m-%d %H:%M UTC", "%Y-%m-%d %H:%M:%S utc", "%Y-%m-%dT%H:%M GMT"]
)
def test_utc_spelled_out_in_timestamps_is_read_as_utc(tmp_path, fmt):
    """'2023-01-10 07:00 UTC' was refused as 'not ISO 8601' ('...Z' was read)."""
    from iclcontrol.solar.planning import load_with_report

    idx = pd.date_range("2023-01-10", periods=3 * 96, freq="15min", tz="UTC")
    ghi = np.clip(np.sin(np.arange(len(idx)) / 96 * 2 * np.pi), 0, None) * 500
    frame = pd.DataFrame({"time": idx.strftime(fmt), "GHI": ghi})
    frame.to_csv(tmp_path / "utc.csv", index=False)
    read, report = read_table(tmp_path / "utc.csv", "time", "GHI")
    # the same instants as the ISO 8601 offset spelling, parsed by pandas
    expected = pd.to_datetime(idx.strftime("%Y-%m-%d %H:%M:%S+00:00"))
    assert (read.index == expected).all()
    assert "UTC offset" in report["timestamps"]
    # a load file's times too
    hours = pd.date_range("2023-01-10", periods=24, freq="h", tz="UTC")
    pd.DataFrame({"time": hours.strftime(fmt), "load_kw": np.arange(24.0)}).to_csv(
        tmp_path / "load.csv", index=False
    )
    load, _ = load_with_report(str(tmp_path / "load.csv"), hours)
    np.testing.assert_allclose(load.to_numpy(), np.arange(24.0))


def test_a_slice_reports_its_own_span_and_gaps_and_keeps_the_files():
    """SolarData.slice() kept the whole file's first/last/gaps in its report."""
    idx = pd.date_range("2023-06-01", periods=4 * 96, freq="15min", tz="Etc/GMT+7")
    frame = pd.DataFrame({"ghi": 100.0}, index=idx)
    frame = frame.drop(idx[10:14])  # 4 steps missing on the first day
    frame.loc[idx[200], "ghi"] = np.nan  # one NaN value on the third day
    regular, report = regularize(frame, "ghi")
    d = SolarData(regular, "ghi", Site("x", 39.74, -105.18, tz="Etc/GMT+7"), {}, report)
    assert d.report["missing_steps"] == 5
    late = d.slice("2023-06-02", "2023-06-03 23:45")
    assert late.report["first"] == str(idx[96])
    assert late.report["last"] == str(idx[4 * 96 - 97])
    assert late.report["missing_steps"] == 1
    assert late.report["gaps"] == [
        {"start": str(idx[200]), "end": str(idx[200]), "steps": 1}
    ]
    # the file's own, also for a slice of the slice
    assert late.report["file"]["missing_steps"] == 5
    assert late.report["file"]["first"] == str(idx[0])
    again = late.slice("2023-06-03", None)
    assert again.report["file"] == late.report["file"]
    assert again.report["first"] == str(idx[192])
    assert d.report["first"] == str(idx[0])  # the original is untouched


@pytest.mark.parametrize("sep", [";", "\t"])
def test_semicolon_or_tab_separated_files_are_read(tmp_path, sep):
    """A spreadsheet's ';' CSV was one column 'time;GHI' and refused with
    'has no column(s) [time, GHI]'."""
    from iclcontrol.solar.planning import load_with_report

    comma, other = tmp_path / "comma.csv", tmp_path / "other.csv"
    _clear_csv(comma, "2023-01-10", 3 * 96, tz="Etc/GMT+7")
    pd.read_csv(comma).to_csv(other, sep=sep, index=False)
    expected, _ = read_table(comma, "time", "GHI", tz="Etc/GMT+7")
    read, _ = read_table(other, "time", "GHI", tz="Etc/GMT+7")
    pd.testing.assert_frame_equal(read, expected)
    hours = pd.date_range("2023-01-10", periods=24, freq="h", tz="Etc/GMT+7")
    load = pd.DataFrame(
        {"time": hours.strftime("%Y-%m-%d %H:%M"), "load_kw": np.arange(24.0)}
    )
    load.to_csv(tmp_path / "load.csv", sep=sep, index=False)
    profile, _ = load_with_report(str(tmp_path / "load.csv"), hours)
    np.testing.assert_allclose(profile.to_numpy(), np.arange(24.0))


def test_missing_value_codes_are_missing_not_zero(tmp_path):
    """-999 (a common missing-value code) was 'negative', so set to 0 W/m^2: a
    sunny noon read as darkness. Small night-time offsets are still zeroed."""
    from iclcontrol.commands.solar import _data_line

    path = tmp_path / "codes.csv"
    idx, _ = _clear_csv(path, "2023-06-01", 2 * 96, tz="Etc/GMT+7")
    table = pd.read_csv(path)
    noon = [48, 49, 144]  # 12:00, 12:15 on day 1 and 12:00 on day 2
    table.loc[noon, "GHI"] = -999.0
    table.loc[[0, 1], "GHI"] = -3.0  # midnight sensor offset
    table.to_csv(path, index=False)
    frame, report = read_table(path, "time", "GHI", tz="Etc/GMT+7")
    assert frame["GHI"].iloc[noon].isna().all()
    assert (frame["GHI"].iloc[[0, 1]] == 0.0).all()
    assert report["missing_value_codes"] == 3
    assert report["missing_steps"] == 3
    assert report["negative_values_zeroed"] == 2
    assert report["gaps"][0] == {"start": str(idx[48]), "end": str(idx[49]), "steps": 2}
    assert "3 values below -100 W/m^2" in _data_line(report, {"skipped": True})


def test_covariate_missing_value_codes_are_missing(tmp_path):
    """A covariate's -999 / -9999 (logger and NSRDB codes) reached the forecaster
    as an air temperature of -999 degC; now missing and counted. A real cold
    reading (-40 degC) is kept."""
    from iclcontrol.commands.solar import _data_line

    path = tmp_path / "cov.csv"
    _clear_csv(path, "2023-01-10", 96, tz="Etc/GMT+7")
    table = pd.read_csv(path)
    table["temp"] = 5.0
    table.loc[[10, 11, 50], "temp"] = -999.0
    table.loc[60, "temp"] = -9999.0
    table.loc[70, "temp"] = -40.0
    table.to_csv(path, index=False)
    frame, report = read_table(path, "time", "GHI", ["temp"], tz="Etc/GMT+7")
    assert frame["temp"].iloc[[10, 11, 50, 60]].isna().all()
    assert frame["temp"].iloc[70] == -40.0
    assert frame["temp"].notna().sum() == 96 - 4
    assert report["covariate_missing_value_codes"] == {"temp": 4}
    assert report["missing_steps"] == 0  # the irradiance itself is complete
    assert "covariate codes like -999 as missing: {'temp': 4}" in _data_line(
        report, {"skipped": True}
    )


def test_sky_frame_is_pvlib_solar_position_and_clear_sky_of_the_plane():
    """The one solar position behind geometry and clear sky is pvlib's, evaluated
    mid-interval for period-ending labels, and the clear sky is pvlib's Ineichen
    transposed to the plane (computed here directly with pvlib)."""
    import pvlib

    from iclcontrol.solar.features import clearsky_target, sky_frame, solar_geometry

    site = Site(
        "golden",
        39.74,
        -105.18,
        1800.0,
        tz="Etc/GMT+7",
        surface_tilt=40.0,
        surface_azimuth=180.0,
        label="ending",
    )
    index = pd.date_range("2023-03-20", periods=2 * 96, freq="15min", tz=site.tz)
    d = SolarData(pd.DataFrame({"poa": 1.0}, index=index), "poa", site)
    times = index - pd.Timedelta("7min 30s")  # middle of each period ending at t
    loc = pvlib.location.Location(site.latitude, site.longitude, altitude=1800.0)
    sp = loc.get_solarposition(times)
    cs = loc.get_clearsky(times, solar_position=sp)
    poa = pvlib.irradiance.get_total_irradiance(
        40.0,
        180.0,
        sp["apparent_zenith"],
        sp["azimuth"],
        cs["dni"],
        cs["ghi"],
        cs["dhi"],
    )["poa_global"]
    sky = sky_frame(d)
    for col in ("zenith", "apparent_zenith", "azimuth"):
        np.testing.assert_array_equal(sky[col].to_numpy(), sp[col].to_numpy())
    expected = poa.fillna(0.0).clip(lower=0.0).to_numpy()
    np.testing.assert_array_equal(sky["clearsky"].to_numpy(), expected)
    np.testing.assert_array_equal(clearsky_target(d).to_numpy(), expected)
    np.testing.assert_array_equal(
        solar_geometry(d)["azimuth"].to_numpy(), sp["azimuth"].to_numpy()
    )
    assert sky.index.equals(index)


def test_quality_control_and_features_compute_the_solar_position_once(
    poa_slice, monkeypatch
):
    """QC then features computed pvlib's solar position 5 times (4 on the whole
    index); now once on the whole index (plus QC's hourly unit check and the
    hourly mirrored clear sky of the latitude-sign check), with the
    same flags and features as on data that carries no solar position."""
    import pvlib

    calls = []
    real = pvlib.solarposition.get_solarposition

    def counting(time, *args, **kwargs):
        calls.append(len(time))
        return real(time, *args, **kwargs)

    fresh = SolarData(poa_slice.frame.copy(), poa_slice.target, poa_slice.site)
    monkeypatch.setattr(pvlib.solarposition, "get_solarposition", counting)
    qc = quality_control(fresh)
    ff = feature_frame(qc.data)
    # the unit check's hourly sample (every 4th 15-min step), then the whole index,
    # then the latitude-sign check's mirrored clear sky, hourly over the local days
    assert calls == [
        len(poa_slice.frame.iloc[::4]),
        len(poa_slice.frame),
        _hours_of_local_days(poa_slice.frame.index),
    ]
    monkeypatch.undo()
    # the straightforward way: every stage on data without a stored solar position
    again = quality_control(
        SolarData(poa_slice.frame.copy(), poa_slice.target, poa_slice.site)
    )
    pd.testing.assert_frame_equal(qc.flags, again.flags, check_exact=True)
    assert qc.report == again.report
    plain = SolarData(qc.data.frame.copy(), qc.data.target, qc.data.site)
    pd.testing.assert_frame_equal(ff, feature_frame(plain), check_exact=True)


def test_stored_sky_is_not_reused_for_another_index_or_site():
    """The solar position kept in ``data.sky`` is recomputed when the index or the
    site changed since (a stale one would shift the clear sky by hours)."""
    from dataclasses import replace

    from iclcontrol.solar.features import clearsky_target, sky_frame

    frame, site = _clear_sky_frame()
    d = SolarData(frame, "ghi", site)
    before = clearsky_target(d)
    assert d.sky is not None
    # another site: Miami instead of Golden
    d.site = replace(site, latitude=25.8, longitude=-80.3, altitude=0.0)
    moved = clearsky_target(d)
    direct = clearsky_target(index=frame.index, site=d.site)
    pd.testing.assert_series_equal(moved, direct)
    assert not np.allclose(moved, before)
    # the same site, a shifted index (one hour later)
    shifted = frame.copy()
    shifted.index = shifted.index + pd.Timedelta("1h")
    shifted.index.freq = "15min"
    d.frame = shifted
    pd.testing.assert_series_equal(
        clearsky_target(d), clearsky_target(index=shifted.index, site=d.site)
    )
    # what is returned is a copy: changing it leaves the stored one intact
    sky = sky_frame(d)
    sky["clearsky"] = -1.0
    assert (sky_frame(d)["clearsky"] >= 0).all()


def _hours_of_local_days(index: pd.DatetimeIndex) -> int:
    """Hours from the first local midnight of ``index`` to the one after its last
    day (the latitude-sign check's hourly grid of the mirrored clear sky)."""
    day = index.normalize()
    return int((day[-1] + pd.Timedelta("1D") - day[0]) / pd.Timedelta("1h"))


def test_hourly_data_quality_control_and_features_need_one_solar_position(
    monkeypatch,
):
    """On hourly data the unit check's hourly sample is the data itself: QC and
    features compute pvlib's solar position once on the data (five times before),
    plus the latitude-sign check's hourly mirrored clear sky."""
    import pvlib

    d = load_solar("tmy3-greensboro")
    calls = []
    real = pvlib.solarposition.get_solarposition

    def counting(time, *args, **kwargs):
        calls.append(len(time))
        return real(time, *args, **kwargs)

    monkeypatch.setattr(pvlib.solarposition, "get_solarposition", counting)
    qc = quality_control(d)
    ff = feature_frame(qc.data)
    assert calls == [len(d.frame), _hours_of_local_days(d.frame.index)]
    monkeypatch.undo()
    plain = SolarData(qc.data.frame.copy(), qc.data.target, qc.data.site)
    pd.testing.assert_frame_equal(ff, feature_frame(plain), check_exact=True)


def _southern_year(latitude: float) -> SolarData:
    """A year of hourly GHI at Sydney (pvlib clear sky, Australia/Sydney with its
    daylight saving) under a seeded cloud process, with the site's latitude given
    as ``latitude``."""
    import pvlib

    idx = pd.date_range("2023-01-01", "2024-01-01", freq="1h", tz="Australia/Sydney")
    idx = idx[:-1]
    loc = pvlib.location.Location(-33.87, 151.21, "Australia/Sydney", 40.0)
    ghi = loc.get_clearsky(idx)["ghi"].to_numpy()
    rng = np.random.default_rng(0)
    daily = np.repeat(rng.uniform(0.3, 1.0, idx.size // 24 + 2), 24)[: idx.size]
    k = np.clip(daily + rng.normal(0.0, 0.1, idx.size), 0.05, 1.1)
    frame, _ = regularize(pd.DataFrame({"ghi": ghi * k}, index=idx), "ghi")
    site = Site("sydney", latitude, 151.21, 40.0, "Australia/Sydney")
    return SolarData(frame, "ghi", site)


def test_a_southern_site_given_a_northern_latitude_is_warned_about():
    """Sydney at latitude 33.87 instead of -33.87 (the minus sign forgotten) passed
    every check: the sun culminates at the same time at both latitudes. The plan
    then faced the array south, away from the sun, QC blanked 5 % of the summer
    values as above the (winter) clear sky, and nothing was said. The seasons
    tell: the given latitude's summer is the measured winter."""
    import warnings

    with pytest.warns(IclControlWarning, match="latitude"):
        flipped = quality_control(_southern_year(33.87))
    (message,) = [w for w in flipped.report["warnings"] if "latitude" in w]
    assert "--latitude -33.87" in message and "southern hemisphere" in message
    with warnings.catch_warnings():
        # the right latitude: no warning
        warnings.simplefilter("error", IclControlWarning)
        right = quality_control(_southern_year(-33.87))
        # and real northern data with its own (right) latitude neither
        greensboro = quality_control(load_solar("tmy3-greensboro"))
    assert right.report["warnings"] == [] and greensboro.report["warnings"] == []


def test_a_typical_year_converted_to_a_zone_follows_its_current_daylight_saving(
    tmp_path,
):
    """A weather file's typical year sat in 1990, so --tz applied 1990's rules:
    Sydney's daylight saving then ended on 4 March (since 2008: the first Sunday
    of April) and the US's began on 1 April (since 2007: the second Sunday of
    March). Mid-March tariff and load hours were an hour off the clock. Now the
    converted year follows the current rules."""
    import pvlib

    # 15-16 March of a Sydney EPW (UTC+10 standard time, hour-ending rows),
    # pvlib clear-sky GHI averaged over each hour
    loc = pvlib.location.Location(-33.87, 151.21, altitude=40.0)
    hours = pd.date_range("1990-03-15 01:00", periods=48, freq="h", tz="Etc/GMT-10")
    ghi = loc.get_clearsky(hours - pd.Timedelta("30min"))["ghi"].round()
    rows = []
    for end, value in zip(hours, ghi, strict=True):
        start = end - pd.Timedelta("1h")
        rows.append(
            f"1990,{start.month},{start.day},{start.hour + 1},60,?9?9?9?9E0?9?9?9?9?9?"
            f"9?9?9?9?9?9?9?9?9*9*9?9*9*9,20.0,10.0,60,101325,0,1415,350,{value:g},"
            "0,0,0,0,0,0,180,2.0,5,5,777.7,77777,9,999999999,10,0.1,0,88,0.2,0,1.0"
        )
    header = [
        "LOCATION,Sydney,NSW,AUS,synthetic,947670,-33.87,151.21,10.0,40.0",
        "DESIGN CONDITIONS,0",
        "TYPICAL/EXTREME PERIODS,0",
        "GROUND TEMPERATURES,0",
        "HOLIDAYS/DAYLIGHT SAVINGS,No,0,0,0",
        "COMMENTS 1,pvlib clear sky",
        "COMMENTS 2,",
        "DATA PERIODS,1,1,Data,Sunday, 1/ 1,12/31",
    ]
    path = tmp_path / "sydney.epw"
    path.write_text("\n".join(header + rows) + "\n")
    own = load_solar(path)  # the file's standard time, no daylight saving
    assert own.frame.index[12] == pd.Timestamp("1990-03-15 12:00", tz="Etc/GMT-10")
    local = load_solar(path, tz="Australia/Sydney")
    noon = local.frame.index[12]  # the file's 12:00 AEST is 13:00 AEDT
    assert noon.utcoffset() == pd.Timedelta("11h") and noon.hour == 13
    assert "daylight-saving" in local.report["timestamps"]
    np.testing.assert_array_equal(local.y.to_numpy(), own.y.to_numpy())
    # a zone without daylight saving has no rules to follow: the year stays
    brisbane = load_solar(path, tz="Australia/Brisbane").frame.index
    assert (brisbane == own.frame.index).all()  # the same instants, in 1990
    # the US: 20 March is daylight-saving time (EDT, UTC-4)
    nc = load_solar("tmy3-greensboro", tz="America/New_York").frame.index
    march_20 = nc[(nc.month == 3) & (nc.day == 20)]
    assert {t.utcoffset() for t in march_20} == {pd.Timedelta("-4h")}


def test_a_north_facing_plane_given_azimuth_180_names_the_azimuth_not_the_unit():
    """Plane-of-array data of a north-facing Sydney array (the equator's side)
    given azimuth 180, as the README's example and northern habit have it: in
    June the south-facing plane's clear sky is a fifth of the measurements, and
    the error said PV power in W is not irradiance. Now it names the azimuth
    that fits and its convention."""
    import pvlib

    idx = pd.date_range("2023-06-01", periods=20 * 24, freq="1h", tz="Australia/Sydney")
    loc = pvlib.location.Location(-33.87, 151.21, "Australia/Sydney", 40.0)
    sp = loc.get_solarposition(idx)
    cs = loc.get_clearsky(idx, solar_position=sp)
    poa = pvlib.irradiance.get_total_irradiance(
        30.0, 0.0, sp["apparent_zenith"], sp["azimuth"], cs["dni"], cs["ghi"], cs["dhi"]
    )["poa_global"]
    k = np.random.default_rng(0).uniform(0.4, 1.0, idx.size)  # clouds
    frame = pd.DataFrame({"poa": (poa.fillna(0.0) * k).to_numpy()}, index=idx)
    frame.index.freq = "1h"

    def data(azimuth: float) -> SolarData:
        site = Site("sydney", -33.87, 151.21, 40.0, "Australia/Sydney", 30.0, azimuth)
        return SolarData(frame, "poa", site)

    with pytest.raises(DataError, match="--surface-azimuth 0 ") as err:
        check_irradiance_scale(data(180.0))
    assert "0 = north" in str(err.value) and "PV power" not in str(err.value)
    assert 0.5 < check_irradiance_scale(data(0.0)) < 1.0  # the right plane fits


def test_santiago_data_across_its_spring_change_at_midnight(tmp_path):
    """America/Santiago skips midnight on its spring change (3 September 2023:
    23:59 -04:00, then 01:00 -03:00), and every ``DatetimeIndex.normalize()``
    of such data raised pandas' "nonexistent time" ValueError: quality control,
    so every solar command, crashed on a Chilean September. A day now starts at
    its first valid time; the clean series is left unflagged, the change day has
    its 23 hours, and the forecast-days plot picks its days."""
    import pvlib

    from iclcontrol.solar import plots as P

    tz = "America/Santiago"
    idx = pd.date_range("2023-08-27", periods=14 * 48, freq="30min", tz=tz)
    loc = pvlib.location.Location(-33.45, -70.67, tz, altitude=0.0)
    k = np.random.default_rng(1).uniform(0.5, 1.0, idx.size)
    frame = pd.DataFrame({"ghi": loc.get_clearsky(idx)["ghi"].to_numpy() * k}, idx)
    frame.index.freq = "30min"
    d = SolarData(frame, "ghi", Site("santiago", -33.45, -70.67, tz=tz))
    qc = quality_control(d)
    assert qc.report["flagged_total"] == 0
    # the midday of each of the 14 days was found (too few for the shift search)
    assert qc.report["clock_shift"] == "skipped: only 14 days with a midday"
    features = feature_frame(qc.data)
    assert features["daytime"].any()
    day_cols = pd.DataFrame({"h1": np.ones(idx.size, bool)}, index=idx)
    frames = {
        "truth": frame.rename(columns={"ghi": "h1"}),
        "forecast": frame.rename(columns={"ghi": "h1"}),
        "persistence": frame.rename(columns={"ghi": "h1"}),
        "daytime": day_cols,
    }
    assert P.plot_forecast_days(frames, tmp_path / "days.png").exists()
    from iclcontrol.solar.data import day_starts

    starts = day_starts(idx)
    change = starts[(starts.month == 9) & (starts.day == 3)]
    assert change[0] == pd.Timestamp("2023-09-03 01:00", tz=tz)
    assert len(change) == 46  # 23 hours of 30 min


@pytest.mark.filterwarnings("ignore:DatetimeIndex.dayofyear is deprecated")
def test_daylight_saving_the_clock_and_the_zone_disagree_on_is_named(tmp_path):
    """Sydney wall-clock data read as Australia/Brisbane (no daylight saving), or
    a logger on standard time all year read as Australia/Sydney: the clock-shift
    check blanked the months of one season (half a year of data on a year, the
    plan's yield 1 260 instead of 1 063 kWh/kWp) without a word. Now a warning
    names the season and the zone to pass; with it nothing is blanked."""
    import pvlib

    from iclcontrol.exceptions import IclControlWarning

    instants = pd.date_range("2023-02-15", "2023-06-15", freq="30min", tz="UTC")
    loc = pvlib.location.Location(-33.87, 151.21, altitude=0.0)
    k = np.random.default_rng(2).uniform(0.6, 1.0, instants.size)
    ghi = loc.get_clearsky(instants)["ghi"].to_numpy() * k
    kw = {"time_column": "time", "target": "ghi", "latitude": -33.87}
    kw["longitude"] = 151.21

    def written(clock: str) -> Path:
        path = tmp_path / f"{clock.replace('/', '_')}.csv"
        wall = instants.tz_convert(clock).tz_localize(None)
        pd.DataFrame({"time": wall.strftime("%Y-%m-%d %H:%M"), "ghi": ghi}).to_csv(
            path, index=False
        )
        return path

    for clock, zone, fix in (
        ("Australia/Sydney", "Australia/Brisbane", "e.g. Australia/Sydney"),
        ("Etc/GMT-10", "Australia/Sydney", "--tz UTC+10:00"),
    ):
        with pytest.warns(IclControlWarning, match="daylight saving") as rec:
            qc = quality_control(load_solar(written(clock), tz=zone, **kw))
        assert qc.report["midday_offset_minutes"]["days_flagged"] >= 28
        (message,) = [str(w.message) for w in rec if "daylight saving" in str(w)]
        # the season ends or begins at the change of 2 April, whichever is flagged
        assert fix in message and (
            "2023-04-01 (" in message or "2023-04-02 to" in message
        )
        right = quality_control(load_solar(written(clock), tz=clock, **kw))
        assert right.report["checks"]["clock_shift"]["flagged"] == 0
        assert right.report["warnings"] == []


@pytest.mark.slow
def test_pvdaq_drifting_clock_is_not_taken_for_daylight_saving():
    """pvdaq-poa-15min's clock drifts to +5 h and back (2023-05-25..07-26), which
    shifts_ruptures reports as one 63-day segment of +60 min; its days do not sit
    at that hour (steady fraction 0.09), so no daylight-saving warning."""
    report = quality_control(load_solar("pvdaq-poa-15min")).report
    (segment,) = [
        s for s in report["midday_offset_minutes"]["segments"] if s["shift_minutes"]
    ]
    assert segment["shift_minutes"] == 60.0 and segment["steady_fraction"] < 0.5
    assert not any("daylight saving" in w for w in report["warnings"])
