"""The PV + battery plant: PV chain against pvlib's ModelChain, battery by hand."""

import numpy as np
import pandas as pd
import pytest

from iclcontrol.exceptions import ConfigError, DataError, DimensionError
from iclcontrol.solar.data import load_solar
from plants import BatteryParameters, Plant, PVArrayParameters, PVBatteryPlant
from plants.pv import grid_flows


@pytest.fixture(scope="module")
def weather():
    d = load_solar("tmy3-greensboro")
    return d.frame.iloc[4000:4336]  # two weeks of June-July


def test_is_a_plant():
    p = PVBatteryPlant()
    assert isinstance(p, Plant)
    assert p.state_names == ("E",) and p.input_names == ("P_ch", "P_dis")


@pytest.mark.parametrize("dc_ac_ratio", [1.0, 1.6])
def test_pv_chain_matches_pvlib_modelchain(weather, dc_ac_ratio):
    from pvlib.location import Location
    from pvlib.modelchain import ModelChain
    from pvlib.pvsystem import PVSystem
    from pvlib.temperature import TEMPERATURE_MODEL_PARAMETERS

    arr = PVArrayParameters(
        kwp=5.0, surface_tilt=25, surface_azimuth=190, dc_ac_ratio=dc_ac_ratio
    )
    plant = PVBatteryPlant(36.1, -79.95, 273.0, array=arr)
    ours = plant.pv_ac_kw(weather)
    system = PVSystem(
        surface_tilt=25,
        surface_azimuth=190,
        module_parameters={"pdc0": 5000.0, "gamma_pdc": -0.004},
        inverter_parameters={"pdc0": 5000.0 / dc_ac_ratio},
        temperature_model_parameters=TEMPERATURE_MODEL_PARAMETERS["sapm"][
            "open_rack_glass_polymer"
        ],
    )
    mc = ModelChain.with_pvwatts(system, Location(36.1, -79.95, altitude=273.0))
    mc.run_model(weather)
    ref = mc.results.ac.fillna(0.0) / 1000.0
    # same pvlib functions in the same order: equal to float rounding
    np.testing.assert_allclose(ours.to_numpy(), ref.to_numpy(), rtol=1e-9, atol=1e-9)
    if dc_ac_ratio > 1.5:  # inverter clipping is active at this ratio
        assert ours.max() == pytest.approx(0.96 * 5.0 / dc_ac_ratio, rel=1e-6)


def test_poa_input_and_missing_columns(weather):
    plant = PVBatteryPlant(array=PVArrayParameters(kwp=2.0, dc_ac_ratio=1.0))
    w = pd.DataFrame({"poa_global": [0.0, 1000.0]}, index=weather.index[:2])
    w["temp_air"] = 20.0
    ac = plant.pv_ac_kw(w)
    # 2 kWp at 1000 W/m^2 after PVWatts' 14.08 % losses is 1.718 kW DC at 25 degC;
    # the cell is hotter (temperature loss) and the inverter is ~96 % efficient
    assert ac.iloc[0] == 0.0
    assert 0.85 * 1.718 < ac.iloc[1] < 0.97 * 1.718
    with pytest.raises(DataError, match="ghi"):
        plant.pv_ac_kw(weather[["temp_air"]])


def test_battery_step_by_hand():
    b = BatteryParameters(
        capacity_kwh=10,
        power_kw=4,
        eta_charge=0.9,
        eta_discharge=0.8,
        soc_min=0.1,
        soc_max=0.9,
    )
    p = PVBatteryPlant(battery=b, dt_h=0.5)
    # charge 2 kW for 0.5 h at 90 %: +0.9 kWh
    np.testing.assert_allclose(p.step([5.0], [2.0, 0.0]), [[5.9]])
    # discharge 2 kW for 0.5 h at 80 %: -1.25 kWh
    np.testing.assert_allclose(p.step([5.0], [0.0, 2.0]), [[3.75]])
    # request beyond power limit is clipped to 4 kW
    _, applied = p.step_applied([5.0], [10.0, 0.0])
    assert applied[0, 0] == 4.0
    # near full: only (9 - 8.8) / (0.9 * 0.5) kW can be stored
    x, applied = p.step_applied([8.8], [4.0, 0.0])
    np.testing.assert_allclose(applied[0, 0], 0.2 / 0.45)
    np.testing.assert_allclose(x, [[9.0]])
    # near empty: only (1.2 - 1.0) * 0.8 / 0.5 kW can be drawn
    x, applied = p.step_applied([1.2], [0.0, 4.0])
    np.testing.assert_allclose(applied[0, 1], 0.32)
    np.testing.assert_allclose(x, [[1.0]])


def test_rhs_numpy_and_casadi_agree():
    p = PVBatteryPlant()
    f = p.casadi_ode()
    u = np.array([1.5, 0.7])
    np.testing.assert_allclose(
        float(f(np.array([5.0]), u)), p.rhs(np.array([[5.0]]), u[None])[0, 0]
    )


def test_grid_flows_and_operation():
    imp, exp = grid_flows([3.0, 0.0], [1.0, 2.0], [1.0, 0.0], [0.0, 1.0])
    # period 0: 1 - 3 + 1 = -1 -> export 1; period 1: 2 - 0 - 1 = 1 -> import 1
    np.testing.assert_allclose(imp, [0.0, 1.0])
    np.testing.assert_allclose(exp, [1.0, 0.0])
    p = PVBatteryPlant(battery=BatteryParameters(10, 5, 1.0, 1.0, 0.0, 1.0))
    res = p.simulate_operation(0.0, [3.0, 0.0], [1.0, 2.0], [[2.0, 0.0], [0.0, 2.0]])
    np.testing.assert_allclose(res["E"], [0.0, 2.0])
    np.testing.assert_allclose(res["grid_import"], [0.0, 0.0])


def test_config_validation():
    with pytest.raises(ConfigError):
        BatteryParameters(soc_min=0.9, soc_max=0.1)
    with pytest.raises(ConfigError):
        PVBatteryPlant(dt_h=0.0)


def test_validation_of_site_array_and_state():
    with pytest.raises(ConfigError, match="latitude"):
        PVBatteryPlant(99, 500)
    with pytest.raises(ConfigError, match="longitude"):
        PVBatteryPlant(40.0, 500.0)
    with pytest.raises(ConfigError, match="surface_tilt"):
        PVArrayParameters(surface_tilt=120)
    with pytest.raises(ConfigError, match="surface_azimuth"):
        PVArrayParameters(surface_azimuth=400)
    plant = PVBatteryPlant(battery=BatteryParameters(capacity_kwh=10.0))
    # e_max = 9 kWh: 50 kWh is not a state of this battery
    with pytest.raises(DataError, match="outside the battery's bounds"):
        plant.step([50.0], [0.0, 1.0])


def test_label_without_index_freq(weather):
    """label='ending' shifts the sun half a step whether or not index.freq is set."""
    plant = PVBatteryPlant(array=PVArrayParameters(kwp=1.0))
    with_freq = plant.pv_ac_kw(weather, label="ending")
    no_freq = weather.copy()
    no_freq.index = pd.DatetimeIndex(list(no_freq.index))
    assert no_freq.index.freq is None
    np.testing.assert_allclose(
        plant.pv_ac_kw(no_freq, label="ending").to_numpy(), with_freq.to_numpy()
    )
    instant = plant.pv_ac_kw(weather, label="instant")
    assert not np.allclose(with_freq.to_numpy(), instant.to_numpy())
    with pytest.raises(DataError, match="fewer than two"):
        plant.pv_ac_kw(no_freq.iloc[:1], label="ending")


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: BatteryParameters(capacity_kwh=float("nan")), "capacity_kwh"),
        (lambda: BatteryParameters(power_kw=float("nan")), "power_kw"),
        (lambda: BatteryParameters(capacity_kwh=-1.0), "capacity_kwh"),
        (lambda: PVArrayParameters(kwp=float("nan")), "kwp"),
        (lambda: PVArrayParameters(dc_ac_ratio=float("nan")), "dc_ac_ratio"),
        (lambda: PVArrayParameters(gamma_pdc=float("nan")), "gamma_pdc"),
    ],
)
def test_nan_and_negative_ratings_are_refused_by_name(make, name):
    with pytest.raises(ConfigError, match=name):
        make()


def test_negative_power_is_refused_not_zeroed():
    plant = PVBatteryPlant()
    with pytest.raises(DataError, match="P_ch=-3 kW is negative"):
        plant.step([5.0], [-3.0, 0.0])
    # solver round-off around zero is still accepted, as zero
    x, applied = plant.step_applied([5.0], [-1e-12, 0.0])
    assert applied[0, 0] == 0.0 and x[0, 0] == 5.0


def test_simulate_reports_the_applied_powers():
    b = BatteryParameters(10, 4, 0.9, 0.8, 0.1, 0.9)
    plant = PVBatteryPlant(battery=b, dt_h=0.5)
    # 10 kW requested: 4 kW (rating) from 5 kWh, then the 9 kWh bound
    res = plant.simulate([5.0], [[10.0, 0.0], [10.0, 0.0], [10.0, 0.0]])
    # by hand: 5 + 0.5 * 0.9 * 4 = 6.8, 8.6, then only (9 - 8.6) / 0.45 kW fit
    np.testing.assert_allclose(res.x[:, 0], [5.0, 6.8, 8.6, 9.0])
    np.testing.assert_allclose(res.u[:, 0], [4.0, 4.0, 0.4 / 0.45])
    np.testing.assert_allclose(res.u[:, 1], 0.0)


def test_simulate_operation_checks_shapes_and_nan():
    plant = PVBatteryPlant()
    with pytest.raises(DataError, match="pv_kw has 1 NaN"):
        plant.simulate_operation(5.0, [1.0, np.nan], [1.0, 1.0], [[0, 0], [0, 0]])
    with pytest.raises(DimensionError, match=r"commands \(n, 2\).*\(2, 3\)"):
        plant.simulate_operation(5.0, [1.0, 2.0], [1.0, 1.0], np.zeros((2, 3)))
    # one period given as scalars: export = pv - load = 2 kW
    res = plant.simulate_operation(5.0, 3.0, 1.0, [0.0, 0.0])
    assert res["grid_export"].tolist() == [2.0]


def test_batch_sizes_must_agree():
    with pytest.raises(DimensionError, match="3 states but 2 inputs"):
        PVBatteryPlant().step([[5.0], [5.0], [5.0]], np.zeros((2, 2)))


def test_pv_ac_kw_names_the_frame_it_needs(weather):
    plant = PVBatteryPlant()
    with pytest.raises(DataError, match=r"must be a pandas DataFrame.*ndarray"):
        plant.pv_ac_kw(weather[["ghi", "dni", "dhi"]].to_numpy())
    with pytest.raises(DataError, match="tz_localize"):
        plant.pv_ac_kw(weather.tz_localize(None))


def test_an_unknown_label_is_refused_for_poa_weather_too(weather):
    w = pd.DataFrame({"poa_global": [0.0, 800.0]}, index=weather.index[:2])
    with pytest.raises(ConfigError, match="label must be"):
        PVBatteryPlant().pv_ac_kw(w, label="end")


def test_grid_flows_names_arrays_of_different_lengths():
    with pytest.raises(DimensionError, match=r"\(3,\), \(2,\)"):
        grid_flows([1.0, 2.0, 3.0], [1.0, 1.0], 0.0, 0.0)
    # scalars still broadcast: 1 kW load, 3 kW PV, no battery -> 2 kW export
    imp, exp = grid_flows([3.0, 0.5], 1.0, 0.0, 0.0)
    np.testing.assert_allclose(imp, [0.0, 0.5])
    np.testing.assert_allclose(exp, [2.0, 0.0])


def _clear_day(latitude: float, longitude: float, tz: str, day: str) -> pd.DataFrame:
    """pvlib's Ineichen clear sky over one day, hourly, with air and wind given
    (ModelChain's defaults for them differ from the plant's)."""
    from pvlib.location import Location

    times = pd.date_range(day, periods=24, freq="1h", tz=tz)
    w = Location(latitude, longitude, tz=tz, altitude=0.0).get_clearsky(times)
    w["temp_air"] = 15.0
    w["wind_speed"] = 2.0
    return w


def _modelchain_kwh(
    weather: pd.DataFrame, latitude: float, longitude: float, tilt: float, az: float
) -> float:
    """Energy of a 1 kWp PVWatts system over ``weather`` (hourly) by ModelChain."""
    from pvlib.location import Location
    from pvlib.modelchain import ModelChain
    from pvlib.pvsystem import PVSystem
    from pvlib.temperature import TEMPERATURE_MODEL_PARAMETERS

    system = PVSystem(
        surface_tilt=tilt,
        surface_azimuth=az,
        module_parameters={"pdc0": 1000.0, "gamma_pdc": -0.004},
        inverter_parameters={"pdc0": 1000.0 / 1.2},
        temperature_model_parameters=TEMPERATURE_MODEL_PARAMETERS["sapm"][
            "open_rack_glass_polymer"
        ],
    )
    mc = ModelChain.with_pvwatts(system, Location(latitude, longitude, altitude=0.0))
    mc.run_model(weather)
    return float(mc.results.ac.fillna(0.0).sum()) / 1000.0  # 1 h rows: kWh


def test_default_array_of_a_southern_site_faces_north():
    """Sydney (33.87 S): the default array is tilted 34 deg facing north (pvlib
    azimuth 0), and its clear-winter-day energy is ModelChain's for that plane."""
    lat, lon = -33.87, 151.21
    plant = PVBatteryPlant(lat, lon, array=PVArrayParameters(kwp=1.0))
    assert (plant.array.surface_tilt, plant.array.surface_azimuth) == (34.0, 0.0)
    w = _clear_day(lat, lon, "Etc/GMT-10", "2021-06-21")
    ours = float(plant.pv_ac_kw(w).sum())  # hourly rows: kWh
    north = _modelchain_kwh(w, lat, lon, 34.0, 0.0)
    # same pvlib functions in the same order: equal to float rounding
    assert ours == pytest.approx(north, rel=1e-9)
    # the old default (south-facing) loses most of a winter day's sun down under
    assert _modelchain_kwh(w, lat, lon, 34.0, 180.0) < 0.6 * north
    assert PVBatteryPlant(lat, lon).array.surface_azimuth == 0.0  # default array too


def test_default_array_of_a_northern_site_faces_south():
    lat, lon = 36.1, -79.95
    plant = PVBatteryPlant(lat, lon, array=PVArrayParameters(kwp=1.0))
    assert (plant.array.surface_tilt, plant.array.surface_azimuth) == (36.0, 180.0)
    w = _clear_day(lat, lon, "Etc/GMT+5", "2021-12-21")
    ours = float(plant.pv_ac_kw(w).sum())
    assert ours == pytest.approx(_modelchain_kwh(w, lat, lon, 36.0, 180.0), rel=1e-9)


def test_array_orientation_given_is_kept_and_one_given_completes_the_other():
    lat = -33.87
    given = PVArrayParameters(surface_tilt=10.0, surface_azimuth=90.0)
    plant = PVBatteryPlant(lat, 151.21, array=given)
    assert plant.array == given  # kept as given, not turned to the equator
    tilt_only = PVBatteryPlant(lat, 151.21, array=PVArrayParameters(surface_tilt=20.0))
    assert (tilt_only.array.surface_tilt, tilt_only.array.surface_azimuth) == (
        20.0,
        0.0,
    )
    az_only = PVBatteryPlant(lat, 151.21, array=PVArrayParameters(surface_azimuth=45))
    assert (az_only.array.surface_tilt, az_only.array.surface_azimuth) == (34.0, 45)


def test_the_plant_and_the_solar_workflows_share_the_default_plane():
    """array_orientation (CLI and workflows) and the plant use one rule."""
    import dataclasses

    from iclcontrol.solar.workflows import array_orientation

    d = load_solar("tmy3-greensboro")
    for lat in (-33.87, 0.0, 36.1, 51.5):
        south = dataclasses.replace(d, site=dataclasses.replace(d.site, latitude=lat))
        o = array_orientation(south)
        plant = PVBatteryPlant(lat, 0.0)
        assert (o["surface_tilt"], o["surface_azimuth"]) == (
            plant.array.surface_tilt,
            plant.array.surface_azimuth,
        )
