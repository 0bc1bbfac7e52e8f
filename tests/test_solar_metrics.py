"""Forecast metrics against values computed by hand."""

import numpy as np
import pandas as pd
import pytest

from iclcontrol.exceptions import DataError, DimensionError
from iclcontrol.solar.metrics import (
    error_metrics,
    horizon_metrics,
    mae,
    mbe,
    rmse,
    skill,
)

TRUE = [100.0, 200.0, 300.0, 400.0]
PRED = [110.0, 190.0, 330.0, 400.0]  # errors +10, -10, +30, 0


def test_hand_computed_errors():
    # RMSE = sqrt((100 + 100 + 900 + 0) / 4) = sqrt(275)
    assert rmse(TRUE, PRED) == pytest.approx(np.sqrt(275.0))
    assert mae(TRUE, PRED) == pytest.approx(50.0 / 4)
    assert mbe(TRUE, PRED) == pytest.approx(30.0 / 4)


def test_mask_and_nan_pairs_are_dropped():
    t = [100.0, np.nan, 300.0, 400.0]
    p = [110.0, 5.0, 330.0, np.nan]
    # only pairs 0 and 2 remain: errors 10 and 30
    assert rmse(t, p) == pytest.approx(np.sqrt((100 + 900) / 2))
    assert mae(TRUE, PRED, mask=[True, False, False, True]) == pytest.approx(5.0)


def test_skill_definition():
    assert skill(80.0, 100.0) == pytest.approx(0.2)
    assert skill(100.0, 100.0) == 0.0
    assert skill(120.0, 100.0) == pytest.approx(-0.2)
    assert np.isnan(skill(1.0, 0.0))


def test_error_metrics_normalized_and_skill():
    ref = [100.0, 200.0, 300.0, 460.0]  # errors 0, 0, 0, 60 -> rmse 30
    m = error_metrics(TRUE, PRED, ref)
    assert m["n"] == 4
    assert m["rmse_reference"] == pytest.approx(30.0)
    assert m["skill_vs_smart_persistence"] == pytest.approx(1 - np.sqrt(275.0) / 30.0)
    assert m["nrmse"] == pytest.approx(np.sqrt(275.0) / 250.0)  # mean truth 250
    assert m["nmbe"] == pytest.approx(7.5 / 250.0)


def test_error_metrics_uses_common_samples():
    # a NaN in the reference removes that sample from the model's figures too
    ref = [100.0, np.nan, 300.0, 400.0]
    m = error_metrics(TRUE, PRED, ref)
    assert m["n"] == 3
    assert m["rmse"] == pytest.approx(np.sqrt((100 + 900 + 0) / 3))


def test_horizon_metrics_per_column():
    idx = pd.date_range("2020-01-01", periods=4, freq="h", tz="UTC")
    truth = pd.DataFrame({"h1": TRUE, "h2": TRUE}, index=idx)
    fc = pd.DataFrame({"h1": PRED, "h2": TRUE}, index=idx)
    ref = pd.DataFrame({"h1": TRUE, "h2": PRED}, index=idx)
    day = pd.DataFrame(True, index=idx, columns=["h1", "h2"])
    out = horizon_metrics(truth, fc, ref, day)
    assert [o["steps"] for o in out] == [1, 2]
    assert out[1]["rmse"] == 0.0 and out[1]["skill_vs_smart_persistence"] == 1.0
    assert np.isnan(out[0]["skill_vs_smart_persistence"])  # reference is perfect


def test_errors_on_bad_input():
    with pytest.raises(DimensionError):
        rmse([1.0, 2.0], [1.0])
    with pytest.raises(DataError):
        error_metrics([np.nan], [1.0])


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"y_pred": [1.0, 2.0]}, "y_pred"),
        ({"y_pred": TRUE, "y_ref": [1.0, 2.0]}, "y_ref"),
        ({"y_pred": TRUE, "mask": [True, False]}, "mask"),
    ],
)
def test_error_metrics_names_the_array_of_the_wrong_length(kwargs, name):
    with pytest.raises(DimensionError, match=f"y_true has 4 values but {name} has 2"):
        error_metrics(TRUE, **kwargs)
