"""Tests of plants.cstr against REFERENCE.md values and numerical properties."""

import casadi as ca
import numpy as np
import pytest
from numpy.testing import assert_allclose

from iclcontrol.exceptions import ConfigError, DataError, DimensionError
from plants import CSTR
from plants.cstr import LYAPUNOV_P

X_CHECK = [1.440239393939394, -74.59997272727276]
U_CHECK = [-3.5, -5e5]


def test_reference_step_value():
    # issue 2: the reference Euler scheme's value after one sampling period
    assert_allclose(
        CSTR().step(X_CHECK, U_CHECK)[0], [1.3651116403, -85.7823619618], atol=1e-6
    )


def test_reference_intermediate_records():
    # REFERENCE.md check values, given as [T, CA]
    records = CSTR().trajectory(X_CHECK, U_CHECK, n_records=10)[0]
    assert_allclose(records[0, ::-1], [-75.72458929, 1.4325163], atol=1e-6)
    assert_allclose(records[1, ::-1], [-76.84802004, 1.4248451], atol=1e-6)


def test_steady_state_is_an_equilibrium():
    # CAs, Ts are rounded to 4-5 digits in REFERENCE.md: the residual is small, not 0
    xdot = CSTR().rhs(np.zeros((1, 2)), np.zeros((1, 2)))[0]
    assert abs(xdot[0]) < 1e-2 and abs(xdot[1]) < 1.0


def test_batched_equals_one_by_one():
    rng = np.random.default_rng(1)
    x = rng.uniform([-1.5, -70], [1.5, 70], size=(7, 2))
    u = rng.uniform([-3.5, -5e5], [3.5, 5e5], size=(7, 2))
    plant = CSTR(method="rk4")
    batched = plant.step(x, u)
    single = np.vstack([plant.step(x[i], u[i]) for i in range(7)])
    assert_allclose(batched, single, rtol=0, atol=0)


def test_rk4_matches_cvodes_and_euler_converges_at_first_order():
    x, u = np.array(X_CHECK), np.array(U_CHECK)
    rk4 = CSTR(method="rk4").step(x, u)[0]
    cvodes = CSTR(method="cvodes").step(x, u)[0]
    # RK4 with h = 1e-4 h has a local error ~h^5: agreement limited by CVODES' 1e-10 tol
    assert_allclose(rk4, cvodes, rtol=1e-7)
    err_coarse = np.abs(CSTR(method="euler", dt=1e-4).step(x, u)[0] - cvodes)
    err_fine = np.abs(CSTR(method="euler", dt=2.5e-5).step(x, u)[0] - cvodes)
    # first order: quartering the step quarters the error (ratio 4 within 15%)
    assert_allclose(err_coarse / err_fine, 4.0, rtol=0.15)


def test_casadi_ode_equals_numpy_rhs():
    plant = CSTR()
    f = plant.casadi_ode()
    rng = np.random.default_rng(2)
    for _ in range(5):
        x = rng.uniform([-1.9, -100], [3, 150])
        u = rng.uniform([-3.5, -5e5], [3.5, 5e5])
        assert_allclose(
            np.asarray(f(x, u)).ravel(), plant.rhs(x[None], u[None])[0], rtol=1e-12
        )
    assert f.name_in() == ["x", "u"] and f.name_out() == ["xdot"]
    assert isinstance(f, ca.Function)


def test_simulate_matches_repeated_step():
    plant = CSTR()
    inputs = np.array([[1.0, 1e5], [-1.0, -2e5], [0.0, 0.0]])
    result = plant.simulate([1.5, -70], inputs)
    x = np.array([[1.5, -70.0]])
    for k in range(3):
        x = plant.step(x, inputs[k])
        assert_allclose(result.x[k + 1], x[0], rtol=1e-14)
    assert_allclose(result.t, [0, 0.005, 0.01, 0.015])
    frame = result.to_frame()
    assert list(frame.columns) == ["t", "CA", "T", "CA0", "Q"]


def test_process_noise_is_bounded_and_seeded():
    x = np.tile([[0.5, 10.0]], (200, 1))
    u = np.zeros((200, 2))
    clean = CSTR().step(x, u)
    noisy_a = CSTR(process_noise=(0.01, 0.5), random_state=3).step(x, u)
    noisy_b = CSTR(process_noise=(0.01, 0.5), random_state=3).step(x, u)
    dev = np.abs(noisy_a - clean)
    assert np.all(dev <= [0.01, 0.5]) and dev.max(axis=0)[0] > 0.005
    assert_allclose(noisy_a, noisy_b, rtol=0, atol=0)


def test_lyapunov_and_regions():
    x = np.array([1.5, -70.0])
    assert CSTR.lyapunov(x) == pytest.approx(x @ LYAPUNOV_P @ x)
    assert CSTR.in_setpoint_region([0.05, 2.0]) and not CSTR.in_setpoint_region(
        [0.1, 3]
    )
    assert CSTR.in_stability_region([0.0, 0.0])


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(DimensionError, match=r"shape \(2,\)"):
        CSTR().step([1.0, 2.0, 3.0], [0, 0])
    with pytest.raises(DataError, match="NaN"):
        CSTR().step([np.nan, 0.0], [0, 0])
    with pytest.raises(ConfigError, match="unknown integration method"):
        CSTR(method="heun")
    with pytest.raises(ConfigError, match="whole number"):
        CSTR(dt=3e-4)


def test_non_numeric_states_and_inputs_are_a_data_error():
    """A string or a ragged list reached numpy's bare ValueError ("could not
    convert string to float"), outside the library's exception hierarchy."""
    from iclcontrol.exceptions import IclControlError

    with pytest.raises(DataError, match=r"states must be numbers.*'CA', 'T'") as info:
        CSTR().step("ab", [0, 0])
    assert isinstance(info.value, IclControlError)
    with pytest.raises(DataError, match=r"inputs must be numbers.*'CA0', 'Q'"):
        CSTR().simulate([0.0, 0.0], [[0.0, 0.0], [0.0]])


def test_one_state_with_a_batch_of_inputs_broadcasts():
    """One initial state and n inputs: n trajectories, each equal to its own step."""
    plant = CSTR()
    inputs = np.array([[-3.5, -5e5], [0.0, 0.0], [3.5, 5e5]])
    batch = plant.step(X_CHECK, inputs)
    assert batch.shape == (3, 2)
    for i, u in enumerate(inputs):
        assert_allclose(batch[i], plant.step(X_CHECK, u)[0], rtol=1e-12)


def test_batches_of_different_sizes_name_both_sizes():
    with pytest.raises(DimensionError, match="3 states but 2 inputs"):
        CSTR().step(np.zeros((3, 2)), np.zeros((2, 2)))


@pytest.mark.parametrize("dt", [0.0, -1e-4, float("nan")])
def test_nonpositive_dt_is_a_config_error(dt):
    with pytest.raises(ConfigError, match="dt must be a positive number"):
        CSTR(dt=dt)


def test_zero_records_is_a_config_error():
    with pytest.raises(ConfigError, match="n_records must be a positive integer"):
        CSTR().trajectory([0.0, 0.0], [0.0, 0.0], n_records=0)


@pytest.mark.parametrize("noise", [(0.1, 1.0, 2.0), (float("nan"), 1.0), (-0.1, 1.0)])
def test_bad_process_noise_is_refused_at_construction(noise):
    """These failed only at the first step, with raw numpy errors."""
    with pytest.raises(ConfigError, match="process_noise"):
        CSTR(process_noise=noise)


def test_euler_blow_up_far_outside_the_input_bounds_is_a_named_error():
    """Was NaN states (or 1e53) with numpy RuntimeWarnings; CVODES integrates the
    same stiff period, so the NaN is the explicit scheme's, not the reactor's."""
    import warnings

    from iclcontrol.exceptions import SimulationError

    u_far = [350.0, 5e7]  # 100 times the input bounds
    assert np.all(np.isfinite(CSTR(method="cvodes").step([0.0, 0.0], u_far)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(SimulationError) as err:
            CSTR().step([[0.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], u_far])
    message = str(err.value)
    assert "trajectory 1 of 2" in message
    assert "CA0=350 kmol/m^3 not in [-3.5, 3.5]" in message
    assert "method='cvodes'" in message
    # every trajectory's state is kept: the in-bounds one equals its own step
    assert_allclose(err.value.states[0], CSTR().step([0.0, 0.0], [0.0, 0.0])[0])
    assert err.value.states[1, 0] < CSTR().state_lower[0]


def test_simulate_names_the_diverged_step_and_keeps_the_trajectory():
    from iclcontrol.exceptions import SimulationError

    inputs = np.tile([105.0, 1.5e7], (20, 1))  # 30 times the bounds
    plant = CSTR()
    with pytest.raises(SimulationError, match=r"^step \d+ of 20") as err:
        plant.simulate([0.0, 0.0], inputs)
    frame = err.value.frame
    k = len(frame) - 1  # the diverged step
    assert str(err.value).startswith(f"step {k} of 20")
    # the rows before it are the plant's own steps, the last one is the bad state
    x = np.zeros(2)
    for j in range(1, k):
        x = plant.step(x, inputs[j - 1])[0]
        assert_allclose(frame.loc[j, ["CA", "T"]].to_numpy(float), x, rtol=1e-12)
    assert not np.all(np.isfinite(frame.loc[k, ["CA", "T"]].to_numpy(float)))
