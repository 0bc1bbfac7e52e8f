"""Regenerate the small solar fixtures in this folder (run from the repo root).

* ``solar_dst_gaps.csv``: hourly GHI at Golden, CO (pvlib Ineichen clear sky scaled
  by 0.8, rounded to 0.1 W/m^2) in naive local time ``America/Denver`` across the
  autumn DST change of 2021-11-07 (the 01:00 hour occurs twice), with 3 rows removed
  (a gap), the rows shuffled, one row duplicated and one night value set to -2.5.
* ``solar_offsets.csv``: 6 rows with explicit UTC offsets in the timestamps.
* ``tiny.epw``: the first 48 hours of pvlib's Greensboro TMY3 file written in EPW
  layout (8 header lines, 35 data fields), to exercise the EPW reader.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pvlib

HERE = Path(__file__).parent


def dst_csv() -> None:
    idx = pd.date_range(
        "2021-11-06 00:00", "2021-11-08 00:00", freq="h", tz="America/Denver"
    )
    loc = pvlib.location.Location(39.74, -105.18, altitude=1800)
    ghi = (0.8 * loc.get_clearsky(idx)["ghi"]).round(1)
    temp = np.round(5 + 8 * np.sin(2 * np.pi * (idx.hour - 9) / 24), 1)
    df = pd.DataFrame(
        {
            "timestamp": idx.tz_localize(None).strftime("%Y-%m-%d %H:%M"),
            "ghi": ghi.to_numpy(),
            "temp_air": temp,
        }
    )
    df.loc[2, "ghi"] = -2.5  # 02:00 local, night: negative sensor noise
    df = df.drop(index=[34, 35, 36])  # a 3-hour gap in the afternoon of Nov 7
    df = pd.concat([df, df.iloc[[10]]])  # a duplicated row
    df = df.sample(frac=1.0, random_state=0)  # unsorted
    df.to_csv(HERE / "solar_dst_gaps.csv", index=False)


def offsets_csv() -> None:
    idx = pd.date_range("2021-06-01 10:00", periods=6, freq="15min", tz="UTC-06:00")
    df = pd.DataFrame(
        {
            "time": idx.strftime("%Y-%m-%dT%H:%M:%S%z").str.replace(
                r"(\d\d)(\d\d)$", r"\1:\2", regex=True
            ),
            "poa": [500.0, 520.0, 510.0, 530.0, 540.0, 560.0],
        }
    )
    df.to_csv(HERE / "solar_offsets.csv", index=False)


def tiny_epw() -> None:
    path = Path(pvlib.__file__).parent / "data" / "723170TYA.CSV"
    data, _meta = pvlib.iotools.read_tmy3(path, map_variables=True)
    data = data.iloc[:48]
    lines = [
        "LOCATION,GREENSBORO,NC,USA,TMY3,723170,36.10,-79.95,-5.0,273.0",
        "DESIGN CONDITIONS,0",
        "TYPICAL/EXTREME PERIODS,0",
        "GROUND TEMPERATURES,0",
        "HOLIDAYS/DAYLIGHT SAVINGS,No,0,0,0",
        "COMMENTS 1,first 48 h of pvlib 723170TYA.CSV in EPW layout (test fixture)",
        "COMMENTS 2,",
        "DATA PERIODS,1,1,Data,Sunday, 1/ 1,12/31",
    ]
    for t, r in data.iterrows():
        hour = t.hour if t.hour else 24
        day = t.day if t.hour else (t - pd.Timedelta("1h")).day
        fields = [
            1988,
            t.month,
            day,
            hour,
            0,
            "?9?9?9?9E0?9?9?9?9?9?9?9?9?9?9?9?9?9?9*9*9?9*9*9",
            r["temp_air"],
            r["temp_dew"],
            r["relative_humidity"],
            r["pressure"] * 100,
            r["ghi_extra"],
            r["dni_extra"],
            300,
            r["ghi"],
            r["dni"],
            r["dhi"],
            0,
            0,
            0,
            0,
            r["wind_direction"],
            r["wind_speed"],
            10,
            10,
            16.1,
            1370,
            9,
            999999999,
            15,
            0.1,
            0,
            88,
            0.2,
            0,
            0,
        ]
        lines.append(",".join(str(f) for f in fields))
    (HERE / "tiny.epw").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    dst_csv()
    offsets_csv()
    tiny_epw()
