"""Solar data: named datasets, file readers and quality control.

Readers return a :class:`SolarData` (a regular, timezone-aware frame plus the site
and a report of what was repaired), in the spirit of pvlib's ``(data, metadata)``.

* Weather files go through pvlib's readers, chosen by file type: TMY2 (``.tm2``),
  TMY3 (``.csv`` whose first line is the TMY3 station header) and EPW (``.epw``).
* Any other CSV or Parquet file needs ``time_column`` and ``target`` (and optionally
  covariate columns); timestamps may carry an offset or be naive local time in
  ``tz`` (DST handled), rows may be unsorted or duplicated and steps may be missing:
  all of it is repaired onto a regular grid and reported.
* :func:`quality_control` flags faults with pvanalytics' own functions (stale values,
  limits against clear sky, z-score outliers, daytime detection, midday clock shifts)
  and reports the counts.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import json
import sys
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iclcontrol.exceptions import ConfigError, DataError, warn

__all__ = [
    "DATASETS",
    "DatasetInfo",
    "QCResult",
    "Site",
    "SolarData",
    "as_timestamp",
    "check_irradiance_scale",
    "check_solar_frame",
    "check_solar_time",
    "dataset_path",
    "day_starts",
    "daylight_saving_warning",
    "has_daylight_saving",
    "infer_step",
    "latitude_sign_warning",
    "list_datasets",
    "load_solar",
    "quality_control",
    "read_table",
    "read_weather_file",
    "regularize",
    "solar_time_lag",
    "solar_time_warning",
]


@dataclass(frozen=True)
class Site:
    """Where the irradiance was measured and how the receiving plane is oriented.

    Parameters
    ----------
    name : str
    latitude, longitude : float
        Decimal degrees, north and east positive. [deg]
    altitude : float
        Above sea level. [m]
    tz : str
        Time zone of the timestamps (IANA name or fixed offset such as ``"UTC-07:00"``).
    surface_tilt, surface_azimuth : float or None
        Orientation of the plane when the target is plane-of-array irradiance; ``None``
        means the target is global horizontal irradiance. [deg] Tilt from the
        horizontal; azimuth clockwise from north (0 = north, the equator's side
        south of it; 180 = south).
    label : {"instant", "ending", "beginning"}
        What a timestamp stands for. Hourly TMY values are period-ending averages, so
        solar geometry is evaluated half a step earlier than the label.
    """

    name: str
    latitude: float
    longitude: float
    altitude: float = 0.0
    tz: str = "UTC"
    surface_tilt: float | None = None
    surface_azimuth: float | None = None
    label: str = "instant"

    def __post_init__(self) -> None:
        if not -90.0 <= self.latitude <= 90.0:
            raise ConfigError(f"latitude must be in [-90, 90] deg, got {self.latitude}")
        if not -180.0 <= self.longitude <= 180.0:
            raise ConfigError(
                f"longitude must be in [-180, 180] deg, got {self.longitude}"
            )
        if self.label not in ("instant", "ending", "beginning"):
            raise ConfigError(
                f"label must be 'instant', 'ending' or 'beginning', got {self.label!r}"
            )
        if not np.isfinite(self.altitude):
            raise ConfigError(f"altitude must be finite (m), got {self.altitude}")
        if (self.surface_tilt is None) != (self.surface_azimuth is None):
            raise ConfigError(
                "give both surface_tilt and surface_azimuth (plane-of-array target) "
                f"or neither (horizontal target); got surface_tilt="
                f"{self.surface_tilt}, surface_azimuth={self.surface_azimuth}"
            )
        # written as "not (valid)" so that NaN is refused too
        if self.surface_tilt is not None and not 0.0 <= self.surface_tilt <= 90.0:
            raise ConfigError(
                f"surface_tilt must be in [0, 90] deg (0 = horizontal), got "
                f"{self.surface_tilt}"
            )
        if self.surface_azimuth is not None and not (
            0.0 <= self.surface_azimuth <= 360.0
        ):
            raise ConfigError(
                f"surface_azimuth must be in [0, 360] deg (180 = south), got "
                f"{self.surface_azimuth}"
            )

    @property
    def is_poa(self) -> bool:
        return self.surface_tilt is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SolarData:
    """A regular, timezone-aware irradiance series with its site and provenance.

    Attributes
    ----------
    frame : pandas.DataFrame
        Regular DatetimeIndex (``freq`` set), the target column and covariates.
        Missing steps are NaN rows.
    target : str
        Name of the irradiance column to forecast. [W/m^2]
    site : Site
    card : dict
        Provenance (source, licence, resolution, variables).
    report : dict
        What the reader repaired: duplicates, unsorted rows, gaps, negatives, ...
    sky : pandas.DataFrame or None
        Solar position and clear sky at the index
        (:func:`iclcontrol.solar.features.sky_frame`): filled on first use and
        reused while the index and site it was computed for are unchanged
        (checked on every use), so that quality control and the features compute
        the solar position once.
    """

    frame: pd.DataFrame
    target: str
    site: Site
    card: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    sky: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_solar_frame(self.frame, self.target)

    @property
    def freq(self) -> pd.Timedelta:
        return pd.Timedelta(self.frame.index.freq)

    @property
    def y(self) -> pd.Series:
        return self.frame[self.target]

    def slice(self, start: Any = None, stop: Any = None) -> SolarData:
        """A copy restricted to ``[start, stop]`` (labels, inclusive).

        Its report's ``first``, ``last``, ``missing_steps`` and ``gaps`` describe
        the slice (missing = NaN target values, so after quality control the
        flagged ones too); the file's are kept under ``report["file"]``; the
        other counts (duplicates, negatives, ...) are the file's.
        """
        frame = self.frame.loc[start:stop].copy()
        frame = frame.asfreq(self.frame.index.freq)
        report = dict(self.report)
        own = [k for k in _COVERAGE_KEYS if k in report]
        if own and len(frame):
            coverage = _coverage(frame, self.target)
            # a slice of a slice keeps the file's values
            report["file"] = report.get("file", {k: report[k] for k in own})
            report.update({k: coverage[k] for k in own})
        return SolarData(frame, self.target, self.site, dict(self.card), report)


def _report_warning(report: dict[str, Any], warning: str | None) -> None:
    """Record a quality-control warning in ``report["warnings"]`` and issue it at
    the user's line (None: nothing)."""
    if warning is not None:
        report["warnings"].append(warning)
        warn(warning)


def day_starts(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Start of each timestamp's local day: its date at midnight, in its zone.

    ``DatetimeIndex.normalize`` raises on a timezone-aware index whose clock skips
    midnight, as America/Santiago's does on its spring change (23:59 -04:00 is
    followed by 01:00 -03:00): there the day starts at its first valid time,
    01:00, as pandas' ``resample("D")`` labels it. A midnight that occurs twice
    is the first.

    Parameters
    ----------
    index : pandas.DatetimeIndex
        Timezone-aware or naive (then the same as ``index.normalize()``).

    Returns
    -------
    pandas.DatetimeIndex
    """
    if index.tz is None:
        return index.normalize()
    midnight = index.tz_localize(None).normalize()
    return midnight.tz_localize(
        index.tz, ambiguous=np.ones(len(midnight), bool), nonexistent="shift_forward"
    )


def check_solar_frame(frame: Any, target: str) -> None:
    """Raise unless ``frame`` can back a :class:`SolarData`.

    It must be a DataFrame with the ``target`` column and a timezone-aware,
    regular DatetimeIndex (``index.freq`` set): forecasting shifts by whole steps.

    Raises
    ------
    DataError
        Naming what is wrong and how to fix it (:func:`regularize` puts an
        irregular, unsorted or duplicated index on a regular grid).
    """
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    if target not in frame.columns:
        raise DataError(
            f"the frame has no target column {target!r}; columns: {list(frame.columns)}"
        )
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise DataError(
            "the frame needs a timezone-aware DatetimeIndex; localize it first, e.g. "
            "frame.tz_localize('America/Denver') (or 'UTC')"
        )
    if index.freq is None:
        raise DataError(
            "the frame's index has no regular step (index.freq is None: unsorted, "
            "duplicated or missing timestamps, or just not set); put it on a grid "
            "with frame, report = iclcontrol.solar.data.regularize(frame, target) "
            "(missing steps become NaN rows)"
        )


def as_timestamp(value: Any, tz: Any) -> pd.Timestamp:
    """``value`` (a string, datetime or Timestamp) as a Timestamp in the zone ``tz``.

    A time without a zone is local time in ``tz``, as ``frame.loc["2023-06-01":]``
    reads it on a frame indexed in ``tz`` (the repeated autumn hour is taken as its
    first, daylight-saving occurrence; a time skipped in spring moves forward to
    the first valid one); a time with a zone is converted.

    Raises
    ------
    DataError
        ``value`` is not a time.
    """
    try:
        t = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise DataError(
            f"expected a time such as '2023-06-01' or '2023-06-01 12:00-06:00', got "
            f"{value!r}"
        ) from None
    if t is pd.NaT:
        raise DataError(f"expected a time, got {value!r}")
    if t.tz is not None:
        return t.tz_convert(tz)
    return t.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")


@dataclass(frozen=True)
class DatasetInfo:
    """A named dataset shipped inside an installed package."""

    name: str
    package: str
    resource: str
    kind: str  # "parquet-poa" | "tmy3" | "tmy2"
    target: str
    site: Site
    description: str
    licence: str
    source: str
    resolution: str

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["site"] = self.site.to_dict()
        return d


#: Named datasets. Files are located inside the installed packages at run time.
DATASETS: dict[str, DatasetInfo] = {
    "pvdaq-poa-15min": DatasetInfo(
        name="pvdaq-poa-15min",
        package="pvanalytics",
        resource="data/system_15_poa_irradiance.parquet",
        kind="parquet-poa",
        target="poa_global",
        site=Site(
            "PVDAQ system 15, NREL Golden CO",
            39.7406,
            -105.1775,
            altitude=1800.0,
            tz="UTC-07:00",
            # Orientation is not shipped with the data; latitude tilt facing south
            # fits the clear-day envelope best among a coarse grid (see the card).
            surface_tilt=40.0,
            surface_azimuth=180.0,
            label="instant",
        ),
        description="Measured 15-min plane-of-array irradiance, Feb 2019 - Oct 2023, "
        "with real faults (values far above clear sky, stale stretches, clock shifts).",
        licence="CC-BY 4.0 (DOE OEDI PVDAQ), redistributed in pvanalytics (MIT)",
        source="https://data.openei.org/submissions/4568 via pvanalytics/data",
        resolution="15min",
    ),
    "tmy3-greensboro": DatasetInfo(
        name="tmy3-greensboro",
        package="pvlib",
        resource="data/723170TYA.CSV",
        kind="tmy3",
        target="ghi",
        site=Site(
            "Greensboro Piedmont Triad Intl, NC (USAF 723170)",
            36.1,
            -79.95,
            altitude=273.0,
            tz="UTC-05:00",
            label="ending",
        ),
        description="NSRDB TMY3 typical meteorological year, hourly GHI/DNI/DHI and "
        "weather.",
        licence="US government work (NREL NSRDB), redistributed in pvlib (BSD-3)",
        source="NREL NSRDB TMY3 via pvlib/data",
        resolution="1h",
    ),
    "tmy3-sandpoint": DatasetInfo(
        name="tmy3-sandpoint",
        package="pvlib",
        resource="data/703165TY.csv",
        kind="tmy3",
        target="ghi",
        site=Site(
            "Sand Point, AK (USAF 703165)",
            55.317,
            -160.517,
            altitude=7.0,
            tz="UTC-09:00",
            label="ending",
        ),
        description="NSRDB TMY3 typical meteorological year, hourly GHI/DNI/DHI and "
        "weather.",
        licence="US government work (NREL NSRDB), redistributed in pvlib (BSD-3)",
        source="NREL NSRDB TMY3 via pvlib/data",
        resolution="1h",
    ),
}

#: Columns kept from weather files (pvlib names).
WEATHER_COLUMNS = ("ghi", "dni", "dhi", "temp_air", "wind_speed")


def dataset_path(name: str) -> Path:
    """Path of a named dataset's file inside its installed package."""
    info = _info(name)
    root = importlib.resources.files(info.package)
    path = Path(str(root.joinpath(info.resource)))
    if not path.exists():
        raise DataError(
            f"dataset {name!r} should be at {path} (package {info.package}); "
            f"reinstall {info.package}"
        )
    return path


def list_datasets() -> list[dict[str, Any]]:
    """Named datasets with their card fields and whether their file is present."""
    out = []
    for name, info in DATASETS.items():
        d = info.to_dict()
        try:
            d["path"] = str(dataset_path(name))
            d["available"] = True
        except DataError:
            d["path"] = None
            d["available"] = False
        out.append(d)
    return out


def _info(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise DataError(
            f"unknown dataset {name!r}; known datasets: {sorted(DATASETS)}, or pass a "
            "file path (.tm2, .epw, TMY3 .csv, or a .csv/.parquet with time_column "
            "and target; CLI: --time-column and --target)"
        )
    return DATASETS[name]


# -- readers -----------------------------------------------------------------------
#: Year given to a typical year's (TMY2, TMY3, EPW) timestamps, which mix months
#: of different years: any non-leap year serves a file's fixed standard time.
TYPICAL_YEAR = 1990
#: The year :func:`load_solar` gives them when ``tz`` converts them to a zone: the
#: latest complete non-leap year, so that the zone's current daylight-saving
#: rules apply (1990's differ: Sydney's daylight saving then ended on 4 March and
#: began on 28 October, since 2008 it runs from the first Sunday of October to the
#: first Sunday of April; the US's began on 1 April, now on the second Sunday of
#: March).
TYPICAL_YEAR_IN_ZONE = 2025


def read_weather_file(
    path: str | Path, target: str = "ghi", coerce_year: int = TYPICAL_YEAR
) -> SolarData:
    """Read a TMY2, TMY3 or EPW file with pvlib's reader chosen by file type.

    Parameters
    ----------
    path : str or Path
        ``.tm2`` (TMY2), ``.epw`` (EnergyPlus) or ``.csv`` whose first line is a TMY3
        station header.
    target : str
        Irradiance column to forecast, in pvlib names (``"ghi"``, ``"dni"``, ...).
    coerce_year : int
        TMY files mix months of different years; every timestamp is moved to this
        (non-leap) year so the series is continuous in time (:func:`load_solar`
        uses :data:`TYPICAL_YEAR_IN_ZONE` when it converts them to a zone with
        daylight saving).

    Returns
    -------
    SolarData
    """
    import pvlib

    path = Path(path)
    if not path.exists():
        raise DataError(f"weather file {path} does not exist")
    kind = _weather_kind(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "tmy3":
            raw, meta = pvlib.iotools.read_tmy3(
                path, coerce_year=coerce_year, map_variables=True
            )
            tz_hours = float(meta["TZ"])
            name = str(meta.get("Name", path.stem)).strip('"')
            label = "ending"
        elif kind == "tmy2":
            raw, meta = pvlib.iotools.read_tmy2(path)
            # TMY2 stores temperature in 0.1 degC and wind speed in 0.1 m/s
            raw = raw.assign(DryBulb=raw["DryBulb"] / 10.0, Wspd=raw["Wspd"] / 10.0)
            raw = raw.rename(
                columns={
                    "GHI": "ghi",
                    "DNI": "dni",
                    "DHI": "dhi",
                    "DryBulb": "temp_air",
                    "Wspd": "wind_speed",
                }
            )
            tz_hours = float(meta["TZ"])
            name = str(meta.get("City", path.stem))
            # The file's hour field ends the hour (TMY2 manual), but pvlib builds
            # the index from ``hour - 1`` (see pvlib.iotools.tmy._read_tmy2): the
            # label is the hour's start. Measured and clear-sky GHI correlate best
            # at lag 0 with "beginning" (tests/test_solar_data.py).
            label = "beginning"
            raw.index = _coerce_year(raw.index, coerce_year)
        else:
            raw, meta = pvlib.iotools.read_epw(path, coerce_year=coerce_year)
            tz_hours = float(meta["TZ"])
            name = str(meta.get("city", path.stem))
            label = "beginning"  # pvlib moves EPW labels to the interval start
    if target not in raw.columns:
        raise DataError(
            f"target column {target!r} not in {path.name}; available: "
            f"{[c for c in WEATHER_COLUMNS if c in raw.columns]}"
        )
    keep = [c for c in WEATHER_COLUMNS if c in raw.columns]
    frame = raw[keep].astype(float)
    if frame.index.tz is None:
        frame.index = frame.index.tz_localize(_fixed_tz(tz_hours))
    site = Site(
        name,
        float(meta["latitude"]),
        float(meta["longitude"]),
        altitude=float(meta.get("altitude", 0.0)),
        tz=str(frame.index.tz),
        label=label,
    )
    frame, report = regularize(frame, target=target)
    card = {"source": str(path), "kind": kind, "resolution": _freq_str(frame)}
    return SolarData(frame, target, site, card, report)


def _weather_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".tm2":
        return "tmy2"
    if suffix == ".epw":
        return "epw"
    if suffix == ".csv":
        with open(path, encoding="utf-8", errors="replace") as f:
            first = f.readline().split(",")
            second = f.readline()
        if len(first) >= 7 and second.startswith("Date (MM/DD/YYYY)"):
            return "tmy3"
    raise DataError(
        f"{path.name} is not a recognised weather file (TMY2 .tm2, TMY3 .csv, EPW "
        ".epw); for a plain table pass time_column and target (CLI: --time-column "
        "and --target)"
    )


def _coerce_year(index: pd.DatetimeIndex, year: int) -> pd.DatetimeIndex:
    # Keep month/day/hour, replace the year; Feb 29 does not occur in TMY data.
    return pd.DatetimeIndex(
        [t.replace(year=year) for t in index.to_pydatetime()], tz=index.tz
    )


def _fixed_tz(hours: float) -> Any:
    import datetime as dt

    return dt.timezone(dt.timedelta(hours=hours))


def _freq_str(frame: pd.DataFrame) -> str:
    return pd.tseries.frequencies.to_offset(frame.index.freq).freqstr


def read_table(
    path: str | Path,
    time_column: str,
    target: str,
    covariates: list[str] | tuple[str, ...] = (),
    tz: str | None = None,
    freq: str | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a plain CSV or Parquet table into a regular timezone-aware frame.

    Parameters
    ----------
    path : str or Path
        ``.csv`` or ``.parquet``.
    time_column : str
        Timestamps. Strings with a UTC offset (or a trailing ``Z``, ``UTC`` or
        ``GMT``) and timezone-aware columns are used as given: converted to
        ``tz`` when given, else kept in the file's offset
        when it is the same on every row (UTC when it changes, e.g. with daylight
        saving time). Naive timestamps are local time in ``tz`` (DST transitions
        resolved: the repeated autumn hour is inferred from order, impossible
        spring times are dropped and reported).
    target : str
        Irradiance column. [W/m^2]
    covariates : sequence of str
        Other numeric columns to keep; their missing-value codes (-999, -9999,
        -99999) become NaN, counted in ``report["covariate_missing_value_codes"]``.
    tz : str or None
        Time zone of naive timestamps; ``None`` means UTC.
    freq : str or None
        Sampling step; inferred from the most common step when ``None``.

    Returns
    -------
    frame : pandas.DataFrame
    report : dict
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"data file {path} does not exist")
    if path.suffix.lower() in (".parquet", ".pq"):
        raw = pd.read_parquet(path)
    elif path.suffix.lower() in (".csv", ".txt"):
        raw = read_csv_any_separator(path)
    else:
        raise DataError(f"{path.name}: expected .csv or .parquet, got {path.suffix!r}")
    if time_column not in raw.columns and raw.index.name == time_column:
        raw = raw.reset_index()
    missing = [c for c in (time_column, target, *covariates) if c not in raw.columns]
    if missing:
        by_case = {str(c).strip().lower(): c for c in raw.columns}
        close = {
            m: by_case[m.strip().lower()]
            for m in missing
            if m.strip().lower() in by_case
        }
        hint = "".join(f"; did you mean {c!r} for {m!r}?" for m, c in close.items())
        raise DataError(
            f"{path.name} has no column(s) {missing}; columns are "
            f"{list(raw.columns)}{hint}"
        )
    report: dict[str, Any] = {}
    columns = [target, *covariates]
    # rows repeated verbatim are one row: they must not count as the second
    # occurrence of a repeated autumn hour
    repeat = raw.duplicated(subset=[time_column, *columns], keep="first").to_numpy()
    times = _parse_times(raw[time_column], tz, report, repeat)
    frame = _numeric_columns(raw[columns], path.name, report)
    codes = covariate_missing_codes(frame, list(covariates))
    if codes:
        report["covariate_missing_value_codes"] = codes
    frame.index = times
    frame = frame[~frame.index.isna()]
    frame.index.name = None
    frame, rep = regularize(frame, target=target, freq=freq)
    report.update(rep)
    return frame, report


def read_csv_any_separator(path: str | Path, **kwargs: Any) -> pd.DataFrame:
    """``pandas.read_csv`` that also reads files separated by semicolons or tabs.

    Spreadsheets in many locales save CSV with ``;``: read with commas, such a
    file is one column named e.g. ``"time;GHI"``. When the header alone splits
    on ``;`` or a tab, the file is read again with that separator (a decimal
    comma is still refused by the numeric check, naming the fix).
    """
    raw = pd.read_csv(path, **kwargs)
    if raw.shape[1] == 1:
        header = str(raw.columns[0])
        for sep in (";", "\t"):
            if sep in header:
                return pd.read_csv(path, sep=sep, **kwargs)
    return raw


def _numeric_columns(
    raw: pd.DataFrame, name: str, report: dict[str, Any]
) -> pd.DataFrame:
    """Columns as floats. A column with no numeric value raises ``DataError`` with an
    example of a bad value; partly non-numeric columns are counted in
    ``report["non_numeric_values"]`` (those values become NaN)."""
    out = raw.apply(pd.to_numeric, errors="coerce").astype(float)
    counts: dict[str, int] = {}
    for col in raw.columns:
        bad = raw[col].notna() & out[col].isna()
        if not bad.any():
            continue
        example = raw[col][bad].iloc[0]
        if out[col].notna().sum() == 0:
            fix = (
                "use '.' as the decimal separator and leave missing values empty"
                if any(ch.isdigit() for ch in str(example))
                else "it holds text, not numbers: leave it out of the target and "
                "covariates (--target, --covariates)"
            )
            raise DataError(
                f"{name}: column {col} is not numeric (e.g. {example!r}); {fix}"
            )
        counts[str(col)] = int(bad.sum())
    if counts:
        report["non_numeric_values"] = counts
    return out


def _parse_times(
    col: pd.Series,
    tz: str | None,
    report: dict[str, Any],
    repeat: np.ndarray | None = None,
) -> Any:
    """Timestamps of a table column as a timezone-aware index (NaT where unusable).

    Naive times are local wall-clock time in ``tz`` (UTC when ``None``, reported as
    ``timestamps``). A trailing ``Z``, ``UTC`` or ``GMT`` is the offset +00:00.
    The autumn hour that occurs twice is resolved from the file order: among the
    distinct rows (``repeat`` marks verbatim repeats), the first
    occurrence of an ambiguous wall time is daylight-saving time, the second
    standard time, further ones and single ones (which cannot be told apart) are
    dropped. Wall times skipped in spring are dropped. Both are counted.
    """
    if pd.api.types.is_datetime64_any_dtype(col) and getattr(col.dt, "tz", None):
        # a timezone-aware column (Parquet): converted to tz like offset strings
        idx = pd.DatetimeIndex(col)
        report["timestamps"] = f"with time zone {idx.tz}"
        return idx.tz_convert(_zone(tz)) if tz else idx
    text = utc_suffix_as_offset(col.astype(str))
    has_offset = text.str.contains(r"(?:[+-]\d\d:?\d\d|Z)$", regex=True).all()
    if has_offset:
        idx = pd.DatetimeIndex(_to_datetime(text, utc=True))
        if tz:
            report["timestamps"] = f"with UTC offsets, converted to {tz}"
            return idx.tz_convert(_zone(tz))
        offsets = text.str.extract(r"([+-]\d\d:?\d\d|Z)$")[0].unique()
        if len(offsets) == 1:  # the file's own clock: keep it
            zone = _offset_zone(str(offsets[0]))
            report["timestamps"] = f"with UTC offset {zone} (kept)"
            return idx.tz_convert(zone)
        report["timestamps"] = (
            f"with {len(offsets)} different UTC offsets (daylight saving?), "
            "converted to UTC; pass tz for local time"
        )
        return idx
    idx = pd.DatetimeIndex(_to_datetime(text, utc=False))
    zone = _zone(tz) if tz else "UTC"
    report["timestamps"] = f"naive, local time in {tz}" if tz else "naive, taken as UTC"
    dst = idx.tz_localize(zone, ambiguous=np.ones(len(idx), bool), nonexistent="NaT")
    std = idx.tz_localize(zone, ambiguous=np.zeros(len(idx), bool), nonexistent="NaT")
    ambiguous = np.asarray(dst != std) & ~dst.isna() & ~std.isna()
    n_nonexistent = int(dst.isna().sum())
    out = std
    dropped_ambiguous = 0
    if ambiguous.any():
        repeat = np.zeros(len(idx), bool) if repeat is None else np.asarray(repeat)
        is_dst = np.zeros(len(idx), bool)
        keep = np.ones(len(idx), bool)
        wall = idx.asi8
        for w in np.unique(wall[ambiguous]):
            rows = np.flatnonzero(wall == w)  # file order
            distinct = rows[~repeat[rows]]
            if len(distinct) == 2:
                # two different rows: the first is DST, the second standard time
                # (a verbatim repeat after the second collides with it and is
                # dropped as a duplicate by regularize)
                is_dst[rows] = rows < distinct[1]
            elif len(distinct) == 1 and len(rows) >= 2:
                # identical rows (e.g. zero irradiance at night): either order is
                # the same data; the later copies are standard time
                is_dst[rows[0]] = True
            else:  # a single row, or three different ones: cannot be told apart
                keep[rows] = False
        out = idx.tz_localize(zone, ambiguous=is_dst, nonexistent="NaT")
        out = out.where(keep | ~ambiguous)
        dropped_ambiguous = int((ambiguous & ~keep).sum())
        report["ambiguous_times_resolved_by_order"] = int((ambiguous & keep).sum())
    report["nonexistent_times_dropped"] = n_nonexistent
    report["ambiguous_times_dropped"] = dropped_ambiguous
    report["nonexistent_or_ambiguous_times_dropped"] = n_nonexistent + dropped_ambiguous
    return pd.DatetimeIndex(out)


def utc_suffix_as_offset(text: pd.Series) -> pd.Series:
    """Timestamp strings with a trailing ``UTC`` or ``GMT`` (any case, e.g.
    ``"2023-01-01 07:00 UTC"``) rewritten with the ISO 8601 offset ``+00:00``,
    which pandas' ISO 8601 parser reads (``Z`` it reads already)."""
    return text.str.replace(r"\s*(?:UTC|GMT)$", "+00:00", regex=True, case=False)


def _offset_zone(offset: str) -> Any:
    """The fixed zone of an ISO 8601 offset (``"-06:00"``, ``"+0530"``, ``"Z"``)."""
    if offset == "Z":
        return _fixed_tz(0.0)
    digits = offset[1:].replace(":", "")
    hours = int(digits[:2]) + int(digits[2:]) / 60.0
    return _fixed_tz(-hours if offset[0] == "-" else hours)


def _zone(tz: str) -> Any:
    """``tz`` checked: an unknown zone name raises ``ConfigError``."""
    try:
        pd.Timestamp("2000-01-01").tz_localize(tz)
    except Exception:
        raise ConfigError(
            f"unknown time zone {tz!r}; use an IANA name such as 'America/Denver', "
            "'Etc/GMT+7' (UTC-7, no DST) or 'UTC'"
        ) from None
    return tz


def _to_datetime(text: pd.Series, utc: bool) -> pd.Series:
    """ISO 8601 strings to timestamps; a bad one raises ``DataError`` naming it."""
    parsed = pd.to_datetime(text, utc=utc, format="ISO8601", errors="coerce")
    bad = parsed.isna() & text.notna() & (text.str.strip() != "")
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())
        if pd.to_numeric(text, errors="coerce").notna().all():
            raise DataError(
                f"the time column holds numbers (e.g. {text.iloc[rows[0]]!r}), not "
                "timestamps; write ISO 8601 times, e.g. for epoch seconds "
                "df[col] = pandas.to_datetime(df[col], unit='s', utc=True)"
            )
        raise DataError(
            f"{len(rows)} timestamp(s) are not ISO 8601, e.g. {text.iloc[rows[0]]!r} "
            f"(data row {rows[0] + 1}); expected e.g. '2023-06-01 13:00', "
            "'2023-06-01T13:00:00-07:00' or '2023-06-01 20:00 UTC'"
        )
    return parsed


#: Irradiance below this is not a sensor's night-time offset (a few W/m^2) but
#: a missing-value code such as -999 or -9999: read as missing. [W/m^2]
MISSING_CODE_BELOW = -100.0

#: Values of a covariate column that are missing-value codes (NSRDB, TMY and
#: many loggers write -999 or -9999 for a missing reading): read as missing.
COVARIATE_MISSING_CODES = (-999.0, -9999.0, -99999.0)


def covariate_missing_codes(
    frame: pd.DataFrame, covariates: list[str] | tuple[str, ...]
) -> dict[str, int]:
    """Set missing-value codes of the covariate columns to NaN, in place.

    A code fed to a forecaster as a value (an air temperature of -999 degC)
    would be taken at face value; as NaN the windows that need it are left out,
    as for any missing reading.

    Parameters
    ----------
    frame : pandas.DataFrame
        Numeric columns; changed in place.
    covariates : sequence of str
        Columns to screen (the target has its own rule,
        :data:`MISSING_CODE_BELOW`).

    Returns
    -------
    dict
        Column -> number of codes set to NaN, for the columns that had any.
    """
    counts: dict[str, int] = {}
    for col in covariates:
        codes = frame[col].isin(COVARIATE_MISSING_CODES)
        if codes.any():
            frame.loc[codes, col] = np.nan
            counts[str(col)] = int(codes.sum())
    return counts


def regularize(
    frame: pd.DataFrame, target: str, freq: str | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Sort, de-duplicate and put a frame on a regular grid; report what was done.

    Negative irradiance (sensor noise at night) is set to zero and counted;
    below :data:`MISSING_CODE_BELOW` it is a missing-value code (-999, -9999)
    and becomes NaN (a missing step), counted too.

    Returns
    -------
    frame : pandas.DataFrame
        ``index.freq`` set; missing steps are NaN rows.
    report : dict
        ``unsorted_rows``, ``duplicate_timestamps`` (the first row of a time is
        kept), ``duplicates_with_other_values`` (of those, rows whose values
        differ from the kept row's: conflicting records), ``n_rows``, ``freq``,
        ``snapped_to_grid`` (timestamps within a quarter step of the grid moved
        onto it, e.g. clock jitter), ``off_grid_dropped`` (farther ones),
        ``missing_value_codes``, ``missing_steps``, ``gaps`` (up to 20
        longest, start/end/steps), ``negative_values_zeroed``.
    """
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise DataError("expected a DatetimeIndex")
    if frame.index.tz is None:
        raise DataError(
            "timestamps have no time zone; pass tz (e.g. 'America/Denver' or 'UTC')"
        )
    report: dict[str, Any] = {}
    report["unsorted_rows"] = int((np.diff(frame.index.asi8) < 0).sum())
    frame = frame.sort_index(kind="stable")
    dup = frame.index.duplicated(keep="first")
    report["duplicate_timestamps"] = int(dup.sum())
    kept = frame[~dup].reindex(frame.index[dup]).to_numpy()
    repeats = frame[dup].to_numpy()
    same = (kept == repeats) | (pd.isna(kept) & pd.isna(repeats))
    report["duplicates_with_other_values"] = int((~same.all(axis=1)).sum())
    frame = frame[~dup]
    if len(frame) < 3:
        raise DataError(f"need at least 3 distinct timestamps, got {len(frame)}")
    if freq is None:
        step = infer_step(frame.index)
    else:
        step = pd.Timedelta(pd.tseries.frequencies.to_offset(freq))
    freq_offset = pd.tseries.frequencies.to_offset(step)
    n_before = len(frame)
    frame, snapped, dropped = _snap_to_grid(frame, step)
    report["snapped_to_grid"] = snapped
    report["off_grid_dropped"] = dropped
    dup = frame.index.duplicated(keep="first")
    if dup.any():  # two jittered rows snapped onto one grid point
        report["duplicate_timestamps"] += int(dup.sum())
        frame = frame[~dup]
    frame = frame.asfreq(freq_offset)
    frame.index.freq = freq_offset
    report["n_rows"] = int(n_before)
    report["freq"] = freq_offset.freqstr
    codes = frame[target] < MISSING_CODE_BELOW
    report["missing_value_codes"] = int(codes.sum())
    frame.loc[codes, target] = np.nan
    report.update(_coverage(frame, target))
    neg = frame[target] < 0
    report["negative_values_zeroed"] = int(neg.sum())
    frame.loc[neg, target] = 0.0
    return frame, report


def infer_step(index: pd.DatetimeIndex) -> pd.Timedelta:
    """Sampling step of irregular timestamps, robust to clock jitter.

    The median difference between consecutive distinct timestamps, rounded to a
    whole minute when it is at least a minute (to a whole second otherwise): 15-min
    data stamped 900 +- 20 s apart gives 15 min, not the ``901s`` of the most
    common difference.
    """
    diffs = np.diff(index.asi8)
    diffs = diffs[diffs > 0]
    if diffs.size == 0:
        raise DataError("cannot infer the sampling step: fewer than 2 distinct times")
    step = pd.Timedelta(int(np.median(diffs)), unit=str(index.unit))
    unit = "1min" if step >= pd.Timedelta("1min") else "1s"
    rounded = step.round(unit)
    return rounded if rounded > pd.Timedelta(0) else step


def _snap_to_grid(
    frame: pd.DataFrame, step: pd.Timedelta, tolerance: float = 0.25
) -> tuple[pd.DataFrame, int, int]:
    """Move timestamps within ``tolerance * step`` of a regular grid onto it.

    The grid has spacing ``step`` and the phase most timestamps share (so hh:30
    labels of hourly data stay hh:30), in UTC so that DST changes do not matter.
    Returns the frame, how many timestamps were moved and how many were too far
    from the grid and dropped.
    """
    t = frame.index.tz_convert("UTC").as_unit("ns").asi8
    n = int(step.value)
    centred = (t + n // 2) % n - n // 2  # offset from the epoch-based grid
    unit = 60_000_000_000 if n >= 60_000_000_000 else 1_000_000_000
    phase = int(np.round(np.median(centred) / unit)) * unit
    grid = np.round((t - phase) / n).astype(np.int64) * n + phase
    off = np.abs(t - grid)
    near = off <= tolerance * n
    snapped = int(((off > 0) & near).sum())
    dropped = int((~near).sum())
    out = frame[near].copy()
    new = pd.DatetimeIndex(grid[near], tz="UTC").tz_convert(frame.index.tz)
    out.index = new.as_unit(frame.index.unit)
    return out, snapped, dropped


#: Keys of a reader report that describe the span of the data (see :func:`_coverage`).
_COVERAGE_KEYS = ("first", "last", "missing_steps", "gaps")


def _coverage(frame: pd.DataFrame, target: str) -> dict[str, Any]:
    """``first`` and ``last`` label, ``missing_steps`` (NaN ``target`` values) and
    the longest ``gaps`` of a regular, non-empty frame."""
    missing = frame[target].isna()
    return {
        "first": str(frame.index[0]),
        "last": str(frame.index[-1]),
        "missing_steps": int(missing.sum()),
        "gaps": _gaps(missing),
    }


def _gaps(missing: pd.Series, keep: int = 20) -> list[dict[str, Any]]:
    if not missing.any():
        return []
    m = missing.to_numpy()
    edges = np.flatnonzero(np.diff(np.r_[False, m, False].astype(int)))
    starts, stops = edges[::2], edges[1::2]
    lengths = stops - starts
    order = np.argsort(-lengths, kind="stable")[:keep]
    idx = missing.index
    return [
        {
            "start": str(idx[starts[i]]),
            "end": str(idx[stops[i] - 1]),
            "steps": int(lengths[i]),
        }
        for i in sorted(order, key=lambda i: starts[i])
    ]


def load_solar(
    name_or_path: str | Path,
    time_column: str | None = None,
    target: str | None = None,
    covariates: list[str] | tuple[str, ...] = (),
    tz: str | None = None,
    site: Site | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    surface_tilt: float | None = None,
    surface_azimuth: float | None = None,
    label: str | None = None,
) -> SolarData:
    """Load a named dataset, a weather file or a plain CSV/Parquet table.

    Parameters
    ----------
    name_or_path : str or Path
        A key of :data:`DATASETS` or a file path.
    time_column, target, covariates, tz
        For plain tables (see :func:`read_table`); ``target`` also picks the
        irradiance column of a weather file (default ``"ghi"``), and ``tz``
        converts a weather file's or named dataset's timestamps to that zone
        (a typical year's are then put in :data:`TYPICAL_YEAR_IN_ZONE` when the
        zone has daylight saving, so that its current rules apply, else in
        :data:`TYPICAL_YEAR`).
    site : Site or None
        Site of a plain table; alternatively give ``latitude`` and ``longitude``
        (and ``surface_tilt``/``surface_azimuth`` when the target is POA). A
        weather file or named dataset has its own: these raise ``ConfigError``.
    label : {"instant", "ending", "beginning"} or None
        What a plain table's timestamps stand for (:class:`Site`); None:
        ``"instant"``. Hourly averages labelled at the end of their hour (as
        TMY files are) need ``"ending"``: the sun is then taken half an hour
        before the label. A weather file or named dataset has its own.

    Returns
    -------
    SolarData
    """
    key = str(name_or_path)
    table_only = {
        "latitude": latitude,
        "longitude": longitude,
        "site": site,
        "surface_tilt": surface_tilt,
        "surface_azimuth": surface_azimuth,
        "label": label,
    }
    if key in DATASETS:
        info = DATASETS[key]
        path = dataset_path(key)
        if info.kind == "parquet-poa":
            raw = pd.read_parquet(path).set_index("measured_on")
            raw.index = pd.DatetimeIndex(raw.index)
            frame = raw[["poa_irradiance__484"]].rename(
                columns={"poa_irradiance__484": "poa_global"}
            )
            frame = frame.astype(float)
            frame, report = regularize(frame, target="poa_global")
            data = SolarData(frame, "poa_global", info.site, info.to_dict(), report)
        else:
            data = read_weather_file(
                path, target=target or info.target, coerce_year=_typical_year(tz)
            )
            data.site = info.site
            data.card = {**info.to_dict(), **data.card}
        return _with_own_site(data, tz, table_only)
    path = Path(name_or_path)
    if not path.exists():
        if path.suffix or "/" in key or "\\" in key:
            raise DataError(
                f"data file {key} not found (no such file); named datasets are "
                f"{sorted(DATASETS)}"
            )
        _info(key)  # raises with the list of known names
    if time_column is None:
        data = read_weather_file(
            path, target=target or "ghi", coerce_year=_typical_year(tz)
        )
        return _with_own_site(data, tz, table_only)
    if target is None:
        raise DataError(
            "a plain table needs target, the irradiance column (CLI: --target)"
        )
    frame, report = read_table(path, time_column, target, covariates, tz=tz)
    if site is None:
        if latitude is None or longitude is None:
            raise DataError(
                "a plain table needs the site: pass site=Site(...) or latitude and "
                "longitude (CLI: --latitude --longitude)"
            )
        site = Site(
            path.stem,
            latitude,
            longitude,
            tz=str(frame.index.tz),
            surface_tilt=surface_tilt,
            surface_azimuth=surface_azimuth,
            label=label or "instant",
        )
    elif label is not None:
        raise ConfigError(
            "label belongs to the site: pass Site(..., label=...) instead of label "
            "with site"
        )
    card = {"source": str(path), "kind": "table", "resolution": _freq_str(frame)}
    data = SolarData(frame, target, site, card, report)
    check_irradiance_scale(data)  # a kW column instead of W/m^2: say so now
    if tz is None and report.get("timestamps") == "naive, taken as UTC":
        check_solar_time(data)  # naive local time read as UTC: say so now
    return data


def _typical_year(tz: str | None) -> int:
    """The year of a typical year's timestamps: :data:`TYPICAL_YEAR_IN_ZONE`
    converted to a zone ``tz`` with daylight saving, else :data:`TYPICAL_YEAR`
    (a fixed offset has no rules that change with the year)."""
    if tz is not None and has_daylight_saving(_zone(tz), TYPICAL_YEAR_IN_ZONE):
        return TYPICAL_YEAR_IN_ZONE
    return TYPICAL_YEAR


def has_daylight_saving(tz: Any, year: int) -> bool:
    """Whether the time zone ``tz`` changes its UTC offset during ``year``.

    True for a daylight-saving clock such as Australia/Sydney or
    America/Santiago, False for a fixed offset such as a weather file's standard
    time (``UTC+10:00``, ``Etc/GMT-10``) or a zone without daylight saving
    (Australia/Brisbane). Judged from its offsets at noon every 30 days.
    """
    noons = pd.date_range(f"{year}-01-15 12:00", periods=12, freq="30D")
    local = noons.tz_localize(tz)
    offset = local.tz_localize(None) - local.tz_convert("UTC").tz_localize(None)
    return bool(offset.nunique() > 1)


def _with_own_site(
    data: SolarData, tz: str | None, table_only: dict[str, Any]
) -> SolarData:
    """A named dataset or weather file, which carries its own site and clock.

    Arguments that describe a plain table's site are refused (they were ignored);
    ``tz`` converts the timestamps to that zone (the same instants).

    Raises
    ------
    ConfigError
        One of ``table_only`` given.
    """
    given = [name for name, value in table_only.items() if value is not None]
    if given:
        flags = ", ".join("--" + g.replace("_", "-") for g in given if g != "site")
        raise ConfigError(
            f"{data.site.name} carries its own site (latitude "
            f"{data.site.latitude:g}, longitude {data.site.longitude:g}): only a "
            "plain table read with time_column (CLI: --time-column) takes "
            f"{', '.join(given)} (CLI: {flags or '-'}); leave them out"
        )
    if tz is None:
        return data
    frame = data.frame.tz_convert(_zone(tz))
    frame.index.freq = data.frame.index.freq
    converted = f"converted to {tz}"
    if data.frame.index[0].year == TYPICAL_YEAR_IN_ZONE and data.card.get("kind") in (
        "tmy2",
        "tmy3",
        "epw",
    ):
        converted += (
            f" (a typical year, put in {TYPICAL_YEAR_IN_ZONE} so that the zone's "
            "current daylight-saving rules apply)"
        )
    report = {**data.report, "timestamps": converted}
    site = replace(data.site, tz=tz)
    return SolarData(frame, data.target, site, dict(data.card), report)


# -- quality control ---------------------------------------------------------------
@dataclass
class QCResult:
    """Flags raised by :func:`quality_control`.

    Attributes
    ----------
    data : SolarData
        Copy of the input with flagged target values set to NaN.
    flags : pandas.DataFrame
        One boolean column per check, True = flagged.
    report : dict
        Counts and fractions per check, midday clock-offset diagnostics, the
        solar-time lag (``solar_time_lag_minutes`` in whole steps,
        ``solar_time_lag_refined_minutes`` between steps) and ``warnings`` (a
        clock about an hour off, :func:`solar_time_warning`; also issued as an
        ``IclControlWarning``).
    """

    data: SolarData
    flags: pd.DataFrame
    report: dict[str, Any]


def quality_control(
    data: SolarData,
    clearsky: pd.Series | None = None,
    csi_factor: float = 1.5,
    csi_offset: float = 100.0,
    stale_window: int = 3,
    zmax: float = 6.0,
    clock_shift_minutes: float = 30.0,
    clock_shift_penalty: float = 5.0,
    verbose: bool | None = None,
) -> QCResult:
    """Flag faulty irradiance with pvanalytics and blank it out.

    Checks, each a pvanalytics function:

    * ``above_clearsky``: ``pvanalytics.quality.util.check_limits`` with upper bound
      ``csi_factor * clearsky + csi_offset`` (clear-sky irradiance of the same plane,
      from :func:`iclcontrol.solar.features.clearsky_target`).
    * ``stale``: ``pvanalytics.quality.gaps.stale_values_round`` over
      ``stale_window`` steps, only in daytime (zeros at night are not faults).
    * ``zscore``: ``pvanalytics.quality.outliers.zscore`` with ``zmax``.
    * ``clock_shift``: ``pvanalytics.quality.time.shifts_ruptures`` (change points
      of the daily midday offset, rounded to multiples of ``clock_shift_minutes``)
      on the measured midday (halfway between sunrise and sunset of
      ``pvanalytics.features.daytime.power_or_irradiance``) against the midday of
      the plane's clear sky through the same functions, after removing the site's
      median offset (horizon shading and labelling are not clock shifts); every
      value of a shifted day is flagged. Sub-hourly data only; needs the
      ``ruptures`` package (the report says so when it is missing).
      ``clock_shift_penalty`` is shifts_ruptures' ``prediction_penalty``: with its
      default of 20 the change-point search finds no change even in the 5-hour
      clock drift of pvdaq-poa-15min in May-July 2023 (nor in a 1-hour shift of
      50 days injected into 150 days, tests/test_solar_data.py); 5 finds both and
      nothing else on that dataset.

    Parameters
    ----------
    data : SolarData
    clearsky : pandas.Series or None
        Clear-sky irradiance of the target's plane. [W/m^2] Computed when ``None``
        (with the solar position, kept in ``data.sky`` and passed on to the
        cleaned data, so the features do not compute it again).
    verbose : bool or None
        Progress bar of the stages on stderr (a synthetic year of 1-min GHI took
        about 11 s with the features, 21 s before the solar position was shared;
        2026-11-27, 2 shared cores, benchmarks/bench_paths.py); None: only on a
        terminal and not under CI.

    Returns
    -------
    QCResult

    Raises
    ------
    DataError
        The target is not irradiance in W/m^2 (:func:`check_irradiance_scale`) or
        the timestamps are far from solar time (:func:`check_solar_time`).
    """
    from tqdm.auto import tqdm

    from iclcontrol.progress import progress_enabled
    from iclcontrol.solar.features import clearsky_target

    # a year of 1-min data takes about 10 s: show the stages
    bar = tqdm(
        total=4,
        desc="solar QC",
        unit="check",
        file=sys.stderr,
        leave=False,
        disable=not progress_enabled(verbose),
    )
    with bar:
        bar.set_postfix_str("clear sky")
        check_irradiance_scale(data)
        if clearsky is None:
            clearsky = clearsky_target(data)
        bar.update()
        bar.set_postfix_str("solar time")
        fit = _best_lag(data, clearsky)
        bar.update()
        bar.set_postfix_str("limits, stale values, outliers")
        return _quality_control(
            data,
            clearsky,
            fit,
            bar,
            csi_factor,
            csi_offset,
            stale_window,
            zmax,
            clock_shift_minutes,
            clock_shift_penalty,
        )


def _quality_control(
    data: SolarData,
    clearsky: pd.Series,
    fit: tuple[int, float] | None,
    bar: Any,
    csi_factor: float,
    csi_offset: float,
    stale_window: int,
    zmax: float,
    clock_shift_minutes: float,
    clock_shift_penalty: float,
) -> QCResult:
    """The checks of :func:`quality_control` after the clear sky and the solar-time
    lag ``fit`` (:func:`_best_lag`); ``bar`` is its progress bar."""
    from pvanalytics.features import daytime as pva_daytime
    from pvanalytics.quality import gaps as pva_gaps
    from pvanalytics.quality import outliers as pva_outliers
    from pvanalytics.quality import util as pva_util

    from iclcontrol.solar.features import solar_geometry

    y = data.y.copy()
    valid = y.notna()
    lag = _check_lag(data, None if fit is None else fit[0] * data.freq)
    time_warning = None if fit is None else solar_time_warning(data, fit[1])
    flags = pd.DataFrame(index=y.index)
    within = pva_util.check_limits(
        y, upper_bound=csi_factor * clearsky + csi_offset, inclusive_upper=True
    )
    flags["above_clearsky"] = valid & ~within.astype(bool)

    geo = solar_geometry(data)
    is_day = geo["zenith"] < 85.0
    stale = pva_gaps.stale_values_round(y, window=stale_window, decimals=2)
    flags["stale"] = stale.fillna(False).astype(bool) & is_day & (y > 0)

    z = pva_outliers.zscore(
        y.where(~flags["above_clearsky"]), zmax=zmax, nan_policy="omit"
    )
    flags["zscore"] = z.reindex(y.index).fillna(False).astype(bool)

    report: dict[str, Any] = {
        "solar_time_lag_minutes": None if lag is None else lag / pd.Timedelta("1min"),
        "solar_time_lag_refined_minutes": (
            None if fit is None else round(fit[1] * data.freq / pd.Timedelta("1min"))
        ),
        "warnings": [],
    }
    for warning in (time_warning, latitude_sign_warning(data, clearsky)):
        _report_warning(report, warning)
    bar.update()
    bar.set_postfix_str("clock shifts")
    # on the raw series: readings of a drifted clock are the ones far above the
    # clear sky of their label, so blanking them first would hide the drift
    shift_days = _clock_shift_days(
        y,
        data,
        clock_shift_minutes,
        clock_shift_penalty,
        report,
        pva_daytime,
        clearsky,
    )
    bar.update()
    day_of = day_starts(y.index)
    flags["clock_shift"] = valid & pd.Series(day_of.isin(shift_days), index=y.index)
    _report_warning(report, daylight_saving_warning(data, report))

    any_flag = flags.any(axis=1)
    n_valid = int(valid.sum())
    report.update(
        {
            "n_values": n_valid,
            "checks": {
                col: {
                    "flagged": int(flags[col].sum()),
                    "fraction": round(float(flags[col].sum()) / max(n_valid, 1), 5),
                }
                for col in flags.columns
            },
            "flagged_total": int(any_flag.sum()),
            "fraction_flagged": round(float(any_flag.sum()) / max(n_valid, 1), 5),
            "max_before_qc": float(y.max()),
            "max_after_qc": float(y[~any_flag].max()),
            "parameters": {
                "csi_factor": csi_factor,
                "csi_offset_wm2": csi_offset,
                "stale_window": stale_window,
                "zmax": zmax,
                "clock_shift_minutes": clock_shift_minutes,
                "clock_shift_penalty": clock_shift_penalty,
            },
        }
    )
    frame = data.frame.copy()
    frame.loc[any_flag, data.target] = np.nan
    cleaned = SolarData(
        frame,
        data.target,
        data.site,
        dict(data.card),
        {**data.report, "qc": report},
        sky=data.sky,  # same index and site: the solar position is reused
    )
    return QCResult(cleaned, flags, report)


#: Accepted range of the ratio of the 95th percentiles of the measured and the
#: clear-sky irradiance (all steps, night included): about 0.5-1 on real sites
#: (0.63 cloudy Sand Point, 0.99 pvdaq with its faults); a kW/m^2 or kW column
#: gives about 0.001-0.01, PV power in W of a few kWp several times 1.
IRRADIANCE_SCALE_RANGE = (0.1, 3.0)


def check_irradiance_scale(data: SolarData) -> float | None:
    """Raise when the target cannot be irradiance in W/m^2 at this site.

    Compares the 95th percentile of the measured target with that of the site's
    clear-sky irradiance of the same plane (on hourly samples: cheap on 1-min
    data). Percentiles of the whole series do not depend on the timestamps being
    right, so a wrong zone is not mistaken for a wrong unit.

    Returns
    -------
    float or None
        The ratio of the two percentiles; None with fewer than 48 measurements.

    Raises
    ------
    DataError
        Naming the column, its level, the clear sky's and the likely unit.
    """
    from iclcontrol.solar.features import clearsky_target

    k = max(round(pd.Timedelta("1h") / data.freq), 1)
    # hourly or coarser: the sample is the data, whose solar position is kept
    sample = data if k == 1 else SolarData(data.frame.iloc[::k], data.target, data.site)
    y = sample.y.dropna()
    if len(y) < 48:
        return None
    cs95 = float(clearsky_target(sample).quantile(0.95))
    y95 = float(y.quantile(0.95))
    ratio = y95 / cs95 if cs95 > 0 else float("nan")
    low, high = IRRADIANCE_SCALE_RANGE
    level = (
        f"its 95th percentile is {y95:.4g} where the clear-sky irradiance of the "
        f"site's plane reaches {cs95:.0f} W/m^2"
    )
    if ratio < low:
        raise DataError(
            f"column {data.target!r} does not look like irradiance in W/m^2: {level}. "
            "A column in kW/m^2 needs multiplying by 1000; PV power in kW is not "
            "irradiance: give an irradiance column (GHI or plane-of-array, W/m^2)"
        )
    if ratio > high:
        mirrored = _mirrored_plane_fit(sample, y95)
        if mirrored is not None:
            azimuth, cs95_mirror = mirrored
            equator = 0 if data.site.latitude < 0 else 180
            raise DataError(
                f"column {data.target!r} does not fit the clear sky of its plane: "
                f"{level} ({ratio:.1f} times as much) facing azimuth "
                f"{data.site.surface_azimuth:g} deg, but {cs95_mirror:.0f} W/m^2 "
                f"facing {azimuth:g} deg, which fits: the azimuth is clockwise from "
                f"north (0 = north, 180 = south; a plane facing the equator has "
                f"{equator} at this latitude); pass --surface-azimuth {azimuth:g} "
                "(surface_azimuth=... in Python)"
            )
        raise DataError(
            f"column {data.target!r} does not look like irradiance in W/m^2: {level} "
            f"({ratio:.1f} times as much). PV power in W is not irradiance: give an "
            "irradiance column (GHI or plane-of-array, W/m^2)"
        )
    return ratio


def _mirrored_plane_fit(sample: SolarData, y95: float) -> tuple[float, float] | None:
    """For plane-of-array data far above its plane's clear sky: the azimuth of
    the plane mirrored across the east-west line (south-facing for north-facing)
    and its clear sky's 95th percentile [W/m^2], when the measurements fit that
    plane (:data:`IRRADIANCE_SCALE_RANGE`); else ``None``."""
    from iclcontrol.solar.features import clearsky_target

    site = sample.site
    if site.surface_azimuth is None:
        return None
    azimuth = (180.0 - site.surface_azimuth) % 360.0
    if azimuth == site.surface_azimuth:  # facing east or west: its own mirror
        return None
    mirror = replace(site, surface_azimuth=azimuth)
    cs95 = float(clearsky_target(index=sample.frame.index, site=mirror).quantile(0.95))
    low, high = IRRADIANCE_SCALE_RANGE
    return (azimuth, cs95) if cs95 > 0 and low <= y95 / cs95 <= high else None


#: Largest lag between measured and clear-sky irradiance accepted as solar time.
MAX_SOLAR_TIME_LAG = pd.Timedelta("90min")


def solar_time_lag(
    data: SolarData, clearsky: pd.Series | None = None
) -> pd.Timedelta | None:
    """Lag at which the measured irradiance best matches the clear sky.

    The lag ``L`` (a multiple of the step, within +-12 h) maximizes the correlation
    of ``y(t)`` with ``clearsky(t + L)``: a positive lag means the labels are
    ``L`` behind the time the sun says (e.g. +5 h for US Eastern local time read as
    UTC). Correlation rather than pvanalytics' daily midday is used here because a
    day that straddles midnight in the wrong zone has no midday. ``None`` when
    there is too little daylight to tell (fewer than 2 days of data).

    Steps finer than :data:`LAG_SEARCH_COARSE_STEP` are searched coarse then
    fine (see :func:`_lag_correlations`): the same lag as trying every step, about
    ten times faster on 1-min data (2 s instead of 20 s for a year).

    Returns
    -------
    pandas.Timedelta or None
    """
    fit = _best_lag(data, clearsky)
    return None if fit is None else fit[0] * data.freq


#: Spacing of the first, coarse pass of the solar-time lag search. [time]
LAG_SEARCH_COARSE_STEP = pd.Timedelta("15min")


def _best_lag(
    data: SolarData, clearsky: pd.Series | None = None
) -> tuple[int, float] | None:
    """The best lag in steps and the same lag refined between steps.

    The refinement is the vertex of the parabola through the correlations at the
    best lag and its two neighbours: hourly period-ending averages read as
    instants peak between two lags (about -0.5 step), which the whole-step lag
    cannot tell from a one-hour clock error (-1 step). ``None`` as in
    :func:`solar_time_lag`.

    Returns
    -------
    (int, float) or None
        The lag [steps] and the refined lag [steps].
    """
    from iclcontrol.solar.features import clearsky_target

    step = data.freq
    y = data.y.to_numpy(float)
    if len(y) * step < pd.Timedelta("2D") or step > pd.Timedelta("3h"):
        return None
    cs = (clearsky if clearsky is not None else clearsky_target(data)).to_numpy(float)
    r = _lag_correlations(y, cs, int(pd.Timedelta("12h") / step), step)
    if not r:
        return None
    best = max(r, key=lambda lag: r[lag])
    below, above = r.get(best - 1), r.get(best + 1)
    if below is None or above is None:
        return best, float(best)
    curvature = below - 2.0 * r[best] + above
    shift = 0.5 * (below - above) / curvature if curvature < 0 else 0.0
    return best, best + float(np.clip(shift, -0.5, 0.5))


def _lag_correlations(
    y: np.ndarray, cs: np.ndarray, n: int, step: pd.Timedelta
) -> dict[int, float]:
    """Correlation of ``y(t)`` with ``cs(t + lag)`` for lags in ``[-n, n]`` steps.

    With steps finer than :data:`LAG_SEARCH_COARSE_STEP` (``k`` steps of it),
    every ``k``-th lag is tried first, then every lag within ``k`` of the best:
    the correlation of irradiance with the clear sky varies over hours, so its
    peak is not missed between two coarse lags 15 min apart. Lags with fewer than
    10 valid pairs or a constant side are left out.

    Returns
    -------
    dict
        Lag [steps] to Pearson correlation.
    """

    def corr(lag: int) -> float | None:
        a, b = (y[: len(y) - lag], cs[lag:]) if lag >= 0 else (y[-lag:], cs[:lag])
        ok = np.isfinite(a) & np.isfinite(b)
        if ok.sum() < 10 or np.std(a[ok]) == 0 or np.std(b[ok]) == 0:
            return None
        return float(np.corrcoef(a[ok], b[ok])[0, 1])

    k = max(int(LAG_SEARCH_COARSE_STEP // step), 1)
    lags = list(range(-n, n + 1, k)) + ([n] if k > 1 else [])
    out = {lag: r for lag in lags if (r := corr(lag)) is not None}
    if k > 1 and out:
        best = max(out, key=lambda lag: out[lag])
        for lag in range(max(best - k, -n), min(best + k, n) + 1):
            if lag not in out and (r := corr(lag)) is not None:
                out[lag] = r
    return out


def check_solar_time(
    data: SolarData, clearsky: pd.Series | None = None
) -> pd.Timedelta | None:
    """:func:`solar_time_lag`, raising ``DataError`` when it exceeds
    :data:`MAX_SOLAR_TIME_LAG`.

    The timestamps are then almost surely local time read as UTC, in another zone
    than the one given, or the site's longitude is wrong (a western site given a
    positive longitude). The message suggests the zone the sun says: the zone of
    the timestamps (their median UTC offset) minus the lag, as a fixed offset.

    Raises
    ------
    DataError
        Naming the lag, the zone the timestamps were read in and the fix.
    """
    return _check_lag(data, solar_time_lag(data, clearsky))


def _check_lag(data: SolarData, lag: pd.Timedelta | None) -> pd.Timedelta | None:
    """``lag`` when it is within :data:`MAX_SOLAR_TIME_LAG`, else ``DataError``
    (see :func:`check_solar_time`)."""
    if lag is None or abs(lag) < MAX_SOLAR_TIME_LAG:
        return lag
    hours = lag / pd.Timedelta("1h")
    tz, zone_hours, fix = _sun_zone_fix(data, hours)
    lon = data.site.longitude
    if zone_hours == 0:
        cause = "they are probably local time"
    else:
        cause = f"they are probably not local time in {tz}"
        # the longitude disagrees with the zone, its opposite agrees: a sign slip
        if (
            abs(_wrap_hours(lon / 15.0 - zone_hours))
            > 3.0
            >= abs(_wrap_hours(-lon / 15.0 - zone_hours))
        ):
            fix += (
                f"; or the longitude's sign is wrong: {lon:g} deg (east positive) "
                f"is far from {tz} (UTC{zone_hours:+g}), {-lon:g} deg is not"
            )
    raise DataError(
        f"timestamps look {abs(hours):g} h off solar time (read in {tz}, the "
        f"measured irradiance matches the clear sky {hours:+g} h from its labels): "
        f"{cause}; {fix}"
    )


def _sun_zone_fix(data: SolarData, hours: float) -> tuple[str, float, str]:
    """The zone the timestamps were read in, its UTC offset [h] (median over the
    data) and the fix: ``--tz`` the zone the sun says, that offset minus ``hours``
    (the lag) as a fixed zone."""
    index = data.frame.index
    offsets = [
        t.utcoffset() / pd.Timedelta("1h") for t in index[:: max(len(index) // 50, 1)]
    ]
    zone_hours = float(np.median(offsets))
    utc_offset = round(_wrap_hours(zone_hours - hours))
    zone = f"Etc/GMT{-utc_offset:+d}" if utc_offset else "UTC"
    fix = (
        f"pass --tz ZONE (or tz=... to load_solar), e.g. --tz {zone} "
        f"(UTC{utc_offset:+d}, no DST) or the site's IANA zone such as "
        "America/Denver"
    )
    return str(index.tz), zone_hours, fix


#: Refined solar-time lags from this to :data:`MAX_SOLAR_TIME_LAG` get a warning:
#: a clock one hour off (a neighbouring zone, daylight saving time). Hourly
#: averages labelled at the end or the start of their hour lag by half an hour.
WARN_SOLAR_TIME_LAG = pd.Timedelta("45min")


def solar_time_warning(data: SolarData, lag_steps: float) -> str | None:
    """A warning when the refined lag (in steps, see :func:`_best_lag`) is about
    an hour: not enough to refuse the data (:func:`check_solar_time`), enough to
    make quality control flag sunrise and sunset values and to shift every
    forecast and dispatch by an hour. ``None`` otherwise.
    """
    lag = lag_steps * data.freq
    if not WARN_SOLAR_TIME_LAG <= abs(lag) < MAX_SOLAR_TIME_LAG:
        return None
    minutes = lag / pd.Timedelta("1min")
    tz, _, fix = _sun_zone_fix(data, round(minutes / 60.0))
    return (
        f"timestamps look about 1 h off solar time (read in {tz}, the measured "
        f"irradiance matches the clear sky {minutes:+.0f} min from its labels): "
        f"probably the wrong time zone or daylight saving time; quality control "
        f"then flags sunrise and sunset values and forecasts and dispatch are an "
        f"hour off; {fix}"
    )


#: Latitude-sign check (:func:`latitude_sign_warning`): the data must span seasons
#: whose clear-sky daily irradiance at the given and the mirrored latitude differ
#: by at least this factor between its months (about 3 months around a solstice
#: at 34 deg; never within about 12 deg of the equator over a year). [-]
LATITUDE_CHECK_MIN_CONTRAST = 2.0
#: Slope above which the clearest days' clear-sky index, against the log-ratio of
#: the given and the mirrored clear sky, is taken as the given latitude's: 0 when
#: the latitude is right (clear days reach the clear sky in every season), -1
#: when its sign is wrong. [-]
LATITUDE_CHECK_SLOPE = -0.75


def latitude_sign_warning(
    data: SolarData, clearsky: pd.Series | None = None
) -> str | None:
    """A warning when the seasons of the measurements are those of the other
    hemisphere: the latitude's sign looks wrong (``-33.9`` for Sydney given as
    ``33.9``).

    The solar time check cannot see it (the sun culminates at the same time at
    both latitudes), but the seasons can: for every month with at least 10
    days measured (90 % of their steps), the 90th percentile over days of the
    daily mean clear-sky index is compared with the log-ratio ``x`` of the daily
    clear sky at the given latitude and at its mirror (``-latitude``; a
    plane-of-array target's azimuth mirrored too). If the latitude is right, the
    clearest days reach about the same index in every month (slope ~0 against
    ``x``); if its sign is wrong, the index falls as the given clear sky rises
    (slope ~-1: the given summer is the measured winter). The slope's fit needs
    months whose ``x`` spans :data:`LATITUDE_CHECK_MIN_CONTRAST` (a factor); a
    slope below :data:`LATITUDE_CHECK_SLOPE` warns. The mirror's clear sky is
    pvlib's on an hourly grid (one more solar position, of 24 times a day).

    Parameters
    ----------
    data : SolarData
    clearsky : pandas.Series or None
        Clear-sky irradiance of the target's plane at the data's timestamps.
        [W/m^2] Computed (:func:`iclcontrol.solar.features.clearsky_target`)
        when ``None``.

    Returns
    -------
    str or None
        The warning, or ``None`` when the seasons fit the given latitude or the
        data cannot tell (too short, or too near the equator).
    """
    from iclcontrol.solar.features import clearsky_target

    site = data.site
    y = data.y.astype(float)
    day = day_starts(y.index)
    covered = y.notna().groupby(day).mean()
    measured = y.groupby(day).mean()[covered >= 0.9]
    if len(measured) < 20 or site.latitude == 0.0:
        return None
    given = clearsky if clearsky is not None else clearsky_target(data)
    grid = pd.date_range(day[0], day[-1] + pd.Timedelta("1D"), freq="1h")
    grid = grid[:-1] + pd.Timedelta("30min")  # hour midpoints, local days
    mirror = replace(
        site,
        latitude=-site.latitude,
        surface_azimuth=None
        if site.surface_azimuth is None
        else (180.0 - site.surface_azimuth) % 360.0,
        label="instant",
    )
    mirrored = clearsky_target(index=grid, site=mirror)
    daily = {
        "given": given.groupby(day).mean(),
        "mirror": mirrored.groupby(day_starts(mirrored.index)).mean(),
    }
    df = pd.concat({"y": measured, **daily}, axis=1, sort=True).dropna()
    df = df[(df["given"] > 1.0) & (df["mirror"] > 1.0) & (df["y"] > 0.05 * df["given"])]
    x = np.log(df["given"] / df["mirror"])
    log_index = np.log(df["y"] / df["given"])
    months = [df.index.year, df.index.month]
    blocks = pd.DataFrame(
        {
            "n": x.groupby(months).size(),
            "x": x.groupby(months).mean(),
            "envelope": log_index.groupby(months).quantile(0.9),
        }
    )
    blocks = blocks[blocks["n"] >= 10]
    if len(blocks) < 2:
        return None
    spread = float(blocks["x"].max() - blocks["x"].min())
    if spread < np.log(LATITUDE_CHECK_MIN_CONTRAST):
        return None
    slope = float(np.polyfit(blocks["x"], blocks["envelope"], 1)[0])
    if slope >= LATITUDE_CHECK_SLOPE:
        return None
    lat = site.latitude
    hemisphere = "southern" if lat > 0 else "northern"
    return (
        f"the seasons of the measured irradiance are those of latitude {-lat:g}, "
        f"not of the given {lat:g} (north positive): on the clearest days of each "
        f"month the clear-sky index falls as the clear sky of latitude {lat:g} "
        f"rises (slope {slope:.2f} against the log-ratio of the two clear skies; "
        f"about 0 for the right latitude, -1 for the mirrored one); if the site "
        f"is in the {hemisphere} hemisphere, pass --latitude {-lat:g} (or "
        f"latitude={-lat:g} to load_solar): with the wrong sign the clear sky, "
        f"quality control, the default array (facing the equator) and the PV "
        f"yield are those of the other hemisphere"
    )


def _wrap_hours(hours: float) -> float:
    """A clock difference in hours wrapped into [-12, 12)."""
    return (hours + 12.0) % 24.0 - 12.0


@contextlib.contextmanager
def _pandas3_rolling_groupby_name() -> Any:
    """Let pvanalytics 0.2 find ``pandas.core.window.RollingGroupby`` on pandas 3.

    ``pvanalytics.features.daytime.power_or_irradiance`` passes
    ``pd.core.window.RollingGroupby.median`` to its rolling-median helper; pandas 3
    renamed that class ``RollingGroupBy`` (capital B), so the call fails with an
    ``AttributeError`` before looking at the data. The class is the same: the old
    name is provided for the duration of the call only.
    """
    import pandas.core.window as pcw

    added = not hasattr(pcw, "RollingGroupby") and hasattr(pcw, "RollingGroupBy")
    if added:
        pcw.RollingGroupby = pcw.RollingGroupBy  # type: ignore[attr-defined]
    try:
        yield
    finally:
        if added:
            del pcw.RollingGroupby


def _midday_minutes(series: pd.Series, freq: str, pva_daytime: Any) -> pd.Series:
    """Daily midday (minutes after local midnight) of a power or irradiance series,
    halfway between pvanalytics' sunrise and sunset of its day/night mask."""
    with _pandas3_rolling_groupby_name(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mask = pva_daytime.power_or_irradiance(series.fillna(0.0), freq=freq)
        sunrise = pva_daytime.get_sunrise(mask)
        sunset = pva_daytime.get_sunset(mask)
    midday = sunrise + (sunset - sunrise) / 2
    start = pd.Series(day_starts(pd.DatetimeIndex(midday)), index=midday.index)
    minutes = (midday - start).dt.total_seconds() / 60.0
    daily = minutes.resample("D").mean()
    daily.index = day_starts(daily.index)
    return daily


def _clock_shift_days(
    y: pd.Series,
    data: SolarData,
    shift_minutes: float,
    penalty: float,
    report: dict[str, Any],
    pva_daytime: Any,
    clearsky: pd.Series,
) -> pd.DatetimeIndex:
    """Days whose clock is shifted, by ``pvanalytics.quality.time.shifts_ruptures``.

    The event is the measured midday (pvanalytics' daytime mask, halfway between
    sunrise and sunset); the reference is the midday of the clear-sky irradiance of
    the same plane through the same mask, so that an east- or west-facing plane or
    the labelling convention does not read as a shift.
    """
    step = data.freq
    if step > pd.Timedelta("30min"):
        report["clock_shift"] = "skipped: needs sub-hourly data"
        return pd.DatetimeIndex([])
    try:
        import ruptures  # noqa: F401
        from pvanalytics.quality import time as pva_time
    except ImportError:
        report["clock_shift"] = "skipped: optional package 'ruptures' not installed"
        return pd.DatetimeIndex([])
    freq = data.frame.index.freq.freqstr
    measured = _midday_minutes(y, freq, pva_daytime)
    modelled = _midday_minutes(clearsky, freq, pva_daytime)
    # only judge days with enough signal: dark or mostly-missing days have no midday
    daily_energy = y.resample("D").sum()
    daily_energy.index = day_starts(daily_energy.index)
    enough = daily_energy.reindex(measured.index) > 0.2 * daily_energy.quantile(0.9)
    event = measured.where(enough)
    offset = (event - modelled.reindex(event.index)).dropna()
    shift_min = max(round(shift_minutes), 1)
    if len(offset) < 15:
        report["clock_shift"] = f"skipped: only {len(offset)} days with a midday"
        return pd.DatetimeIndex([])
    # The site's usual offset (horizon shading, labelling, the detector's
    # thresholds) is not a clock shift: compare with the clear-sky midday moved by
    # the median offset, so that only changes of the offset count.
    median = float(offset.median())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, amount = pva_time.shifts_ruptures(
            event,
            modelled.reindex(event.index) + median,
            period_min=15,
            shift_min=shift_min,
            prediction_penalty=penalty,
        )
    # days before the first judged day come back NaN (and "shifted"): not judged
    amount = amount.fillna(0.0)
    shifted = amount != 0
    segments = []
    changes = amount.ne(amount.shift()).cumsum()
    for _, seg in amount.groupby(changes):
        # how steadily the segment's days sit at its shift: a season of daylight
        # saving keeps its hour, a drifting clock only passes through it
        dev = (offset.reindex(seg.index).dropna() - median - seg.iloc[0]).abs()
        segments.append(
            {
                "start": str(seg.index[0].date()),
                "end": str(seg.index[-1].date()),
                "shift_minutes": float(seg.iloc[0]),
                "steady_fraction": (
                    round(float((dev <= STEADY_SHIFT_MINUTES).mean()), 3)
                    if len(dev)
                    else None
                ),
            }
        )
    report["clock_shift_method"] = (
        "pvanalytics.quality.time.shifts_ruptures on the midday from "
        "pvanalytics.features.daytime (measured vs clear sky of the same plane)"
    )
    report["midday_offset_minutes"] = {
        "median": round(median, 1),
        "p05": round(float(offset.quantile(0.05)), 1),
        "p95": round(float(offset.quantile(0.95)), 1),
        "days_checked": len(offset),
        "days_flagged": int(shifted.sum()),
        "segments": segments[:20],
    }
    return pd.DatetimeIndex(shifted.index[shifted.to_numpy()])


#: Clock-shift segments of about an hour (this range, [min]) lasting at least
#: :data:`DST_SEGMENT_DAYS` days read as daylight saving time that the
#: timestamps and the zone they were read in disagree on.
DST_SHIFT_MINUTES = (45.0, 75.0)
#: Shortest such segment: a season of daylight saving, not a one-off fault. [d]
DST_SEGMENT_DAYS = 28
#: A segment's days whose midday offset lies within this of its shift are steady
#: (``steady_fraction`` of the report's segments). [min]
STEADY_SHIFT_MINUTES = 20.0
#: Smallest steady fraction of a daylight-saving season: pvdaq-poa-15min's drifting
#: clock (a 63-day segment of +60 min) has 0.09, Sydney's wall clock read as
#: Australia/Brisbane 1.0.
DST_STEADY_FRACTION = 0.8


def daylight_saving_warning(data: SolarData, report: dict[str, Any]) -> str | None:
    """A warning when quality control blanked weeks of data for a steady clock
    shift of about an hour (:data:`DST_SHIFT_MINUTES`, at least
    :data:`DST_SEGMENT_DAYS` days, :data:`DST_STEADY_FRACTION` of them within
    :data:`STEADY_SHIFT_MINUTES` of it; a drifting clock is not steady): daylight
    saving time that the timestamps and their zone do not share (a wall clock
    with daylight saving read in a zone without, e.g. Sydney data read as
    Australia/Brisbane; or a logger on standard time all year read in a zone with
    it). ``None`` otherwise.

    Parameters
    ----------
    data : SolarData
    report : dict
        :func:`quality_control`'s report, with ``midday_offset_minutes``.
    """
    midday = report.get("midday_offset_minutes")
    if not midday:
        return None
    low, high = DST_SHIFT_MINUTES
    seasons = [
        seg
        for seg in midday["segments"]
        if low <= abs(seg["shift_minutes"]) <= high
        and (pd.Timestamp(seg["end"]) - pd.Timestamp(seg["start"])).days + 1
        >= DST_SEGMENT_DAYS
        and (seg.get("steady_fraction") or 0.0) >= DST_STEADY_FRACTION
    ]
    if not seasons:
        return None
    index = data.frame.index
    tz = index.tz
    spans = ", ".join(
        f"{seg['start']} to {seg['end']} ({seg['shift_minutes']:+g} min)"
        for seg in seasons
    )
    if has_daylight_saving(tz, index[0].year):
        standard = min(
            (t.utcoffset() for t in index[:: max(len(index) // 50, 1)] if not t.dst()),
            default=index[0].utcoffset(),
        )
        minutes = round(standard / pd.Timedelta("1min"))
        sign = "+" if minutes >= 0 else "-"
        fixed = f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
        fix = (
            f"if the timestamps stay on standard time all year (a logger that "
            f"ignores daylight saving), pass --tz {fixed}, {tz}'s standard time"
        )
    else:
        fix = (
            f"if the timestamps follow daylight saving (a wall clock), pass --tz "
            f"with the site's zone that has it, e.g. Australia/Sydney or "
            f"America/Santiago, not {tz}"
        )
    return (
        f"quality control blanked {midday['days_flagged']} of "
        f"{midday['days_checked']} days as clock-shifted by about an hour for weeks "
        f"({spans}): a steady hour for weeks is usually daylight saving time, on "
        f"which the timestamps and the zone they were read in ({tz}) disagree; "
        f"{fix} (tz=... to load_solar), and nothing is blanked"
    )


def report_json(report: dict[str, Any]) -> str:
    """The report as indented JSON (numpy scalars converted)."""
    return json.dumps(
        report, indent=2, default=lambda o: o.item() if hasattr(o, "item") else str(o)
    )
