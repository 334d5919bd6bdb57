"""Real Keras at tiny sizes: 8 features, windows of 16 frames, width 8, batches of 4."""

import keras
import numpy as np
import pytest

from ethoflow.models import ARCHITECTURES, NAMES, build_model, load_model

N_FEATURES, WINDOW, BATCH = 8, 16, 4
HP = {
    "window": WINDOW,
    "layers": 2,
    "units": 8,
    "dropout": 0.1,
    "kernel_size": 3,
    "dilation_depth": 2,
    "stacks": 1,
    "causal": True,
    "heads": 2,
}
# Keras saves TF variables through np.array(); TF 2.21's __array__ predates NumPy 2's copy=.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)
# The formula in tcn.build's docstring: 13 frames here.
TCN_RECEPTIVE_FIELD = 1 + 2 * (HP["kernel_size"] - 1) * HP["stacks"] * sum(
    2**i for i in range(HP["dilation_depth"])
)


@pytest.fixture(autouse=True)
def _seed_keras():
    # Weight initialisers draw from Keras's global seed, as under the trainer.
    keras.utils.set_random_seed(0)


def _windows(seed: int = 0, n: int = BATCH) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, WINDOW, N_FEATURES)).astype("float32")


def test_architectures_are_the_known_names():
    assert list(ARCHITECTURES) == list(NAMES) == ["lstm", "bilstm", "tcn", "transformer"]


@pytest.mark.parametrize("architecture", NAMES)
def test_builds_trains_with_frame_weights_saves_and_loads(architecture, tmp_path):
    model = build_model(architecture, HP, N_FEATURES)
    assert model.name == architecture
    assert model.input_shape == (None, WINDOW, N_FEATURES)
    x = _windows()
    probabilities = model.predict(x, verbose=0)
    assert probabilities.shape == (BATCH, WINDOW, 1)
    assert np.all((probabilities > 0) & (probabilities < 1))

    rng = np.random.default_rng(1)
    y = (rng.random((BATCH, WINDOW, 1)) < 0.2).astype("float32")
    frame_weights = np.where(y[..., 0] == 1, 4.0, 1.0).astype("float32")  # (batch, window)
    # y keeps its trailing 1: a (batch, window) y makes Keras average the loss over the frames
    # first, and (batch, window) weights then fail to broadcast against (batch,).
    model.compile(optimizer="adam", loss="binary_crossentropy")
    history = model.fit(x, y, sample_weight=frame_weights, batch_size=BATCH, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])

    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_frame_weights_weigh_each_frame_of_the_loss():
    model = build_model("lstm", HP, N_FEATURES)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    x = _windows()
    y = (np.random.default_rng(1).random((BATCH, WINDOW, 1)) < 0.5).astype("float32")
    frame_weights = np.random.default_rng(2).uniform(0, 3, (BATCH, WINDOW)).astype("float32")
    per_frame = keras.ops.convert_to_numpy(
        keras.losses.binary_crossentropy(y, model.predict(x, verbose=0))
    )  # (batch, window)
    weighted = model.evaluate(x, y, sample_weight=frame_weights, batch_size=BATCH, verbose=0)
    # Keras 3 multiplies frame by frame, then divides by the number of frames (not the weights).
    assert np.isclose(weighted, np.sum(frame_weights * per_frame) / per_frame.size, rtol=1e-5)


def test_lstm_units_halve_per_layer_down_to_four():
    model = build_model("lstm", {**HP, "layers": 3, "units": 16}, N_FEATURES)
    lstms = [layer for layer in model.layers if isinstance(layer, keras.layers.LSTM)]
    assert [layer.units for layer in lstms] == [16, 8, 4]
    model = build_model("lstm", {**HP, "layers": 3, "units": 8}, N_FEATURES)
    assert [layer.units for layer in model.layers if isinstance(layer, keras.layers.LSTM)] == [
        8,
        4,
        4,
    ]


def test_bilstm_wraps_each_layer_in_bidirectional():
    model = build_model("bilstm", HP, N_FEATURES)
    wrapped = [layer for layer in model.layers if isinstance(layer, keras.layers.Bidirectional)]
    assert [layer.forward_layer.units for layer in wrapped] == [8, 4]
    assert not any(isinstance(layer, keras.layers.LSTM) for layer in model.layers)


def _output_change(model: keras.Model, frame: int) -> np.ndarray:
    """Per-frame |change| of the output when the input at ``frame`` changes."""
    x = _windows(n=1)
    changed = x.copy()
    changed[0, frame] += 3.0
    before, after = model.predict(x, verbose=0), model.predict(changed, verbose=0)
    return np.abs(after - before)[0, :, 0]


def test_causal_tcn_never_looks_ahead():
    change = _output_change(build_model("tcn", {**HP, "causal": True}, N_FEATURES), frame=8)
    assert np.all(change[:8] == 0)
    assert np.all(change[8:] > 0)


def test_non_causal_tcn_sees_both_sides():
    change = _output_change(build_model("tcn", {**HP, "causal": False}, N_FEATURES), frame=8)
    assert np.any(change[:8] > 0) and np.any(change[8:] > 0)


def test_causal_tcn_receptive_field_matches_docstring():
    change = _output_change(build_model("tcn", HP, N_FEATURES), frame=0)
    assert TCN_RECEPTIVE_FIELD < WINDOW
    assert np.all(change[:TCN_RECEPTIVE_FIELD] > 0)
    assert np.all(change[TCN_RECEPTIVE_FIELD:] == 0)


def test_transformer_output_depends_on_position():
    model = build_model("transformer", HP, N_FEATURES)
    same_frame_everywhere = np.repeat(_windows(n=1)[:, :1], WINDOW, axis=1)
    probabilities = model.predict(same_frame_everywhere, verbose=0)[0, :, 0]
    assert np.ptp(probabilities) > 1e-4


def test_unknown_architecture_lists_known_names():
    with pytest.raises(ValueError, match="unknown architecture 'gru'; known: lstm, bilstm, tcn"):
        build_model("gru", HP, N_FEATURES)


@pytest.mark.parametrize(
    ("architecture", "key"),
    [("lstm", "units"), ("bilstm", "layers"), ("tcn", "kernel_size"), ("transformer", "heads")],
)
def test_missing_hyper_parameter_is_named(architecture, key):
    hp = {name: value for name, value in HP.items() if name != key}
    with pytest.raises(ValueError, match=f"missing hyper-parameter.*'{key}'"):
        ARCHITECTURES[architecture](hp, N_FEATURES)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"dropout": 0.95}, "dropout must be in"),
        ({"layers": 0}, "layers must be an integer >= 1"),
        ({"causal": "no"}, "causal must be a bool"),
    ],
)
def test_bad_hyper_parameter_values_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        build_model("tcn" if "causal" in change else "lstm", {**HP, **change}, N_FEATURES)
