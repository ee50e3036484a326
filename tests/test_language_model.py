"""Language model builder and generation."""

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnzoo.layers import convert_model
from rnnzoo.tasks.language_model import model as language_model
from rnnzoo.tasks.language_model.sampling import Generator, filter_logits, sample_token, without_padding
from rnnzoo.training.config import ConfigError

TEXT = (Path(__file__).parent / "data" / "lm_tiny.txt").read_text()
CHARS = sorted(set(TEXT))
IDS = np.array([CHARS.index(c) + 1 for c in TEXT], "int32")  # 0 is padding
VOCAB = len(CHARS) + 1


def tiny(**overrides):
    config = {"vocab_size": VOCAB, "level": "char", "embedding_dim": 16, "hidden": 24,
              "num_layers": 2, **overrides}
    return language_model.build(config)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("implementation", ["explicit", "builtin"])
@pytest.mark.parametrize("tie_weights", [True, False])
def test_builder_every_cell_and_implementation(cell, implementation, tie_weights):
    model = tiny(cell=cell, implementation=implementation, tie_weights=tie_weights)
    ids = IDS[None, :30]
    logits = model(ids)
    assert logits.shape == (1, 30, VOCAB)
    other = convert_model(model, to="builtin" if implementation == "explicit" else "explicit")
    np.testing.assert_allclose(other(ids), logits, atol=1e-5)


def windows(length=40):
    starts = np.arange(0, len(IDS) - length - 1, length // 2)
    x = np.stack([IDS[s:s + length] for s in starts])
    y = np.stack([IDS[s + 1:s + length + 1] for s in starts])
    return x, y


def test_tiny_lm_loss_falls_on_committed_text():
    keras.utils.set_random_seed(0)
    model = language_model.compile_for_training(
        tiny(num_layers=1, hidden=64, embedding_dim=32, dropout=0.1, embedding_dropout=0.05),
        learning_rate=2e-2,
    )
    x, y = windows()
    history = model.fit(x, y, batch_size=16, epochs=10, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.75 * losses[0], losses
    assert losses[-1] < np.log(VOCAB) * 0.8


def test_stateful_model_carries_state_between_batches():
    model = tiny()
    stateful = language_model.build(
        {"vocab_size": VOCAB, "level": "char", "embedding_dim": 16, "hidden": 24, "num_layers": 2},
        batch_size=2, stateful=True,
    )
    stateful.set_weights(model.get_weights())
    ids = np.stack([IDS[:20], IDS[20:40]])
    whole = model(ids)
    halves = np.concatenate([stateful(ids[:, :10]), stateful(ids[:, 10:])], axis=1)
    np.testing.assert_allclose(halves, whole, atol=1e-5)
    with pytest.raises(ValueError, match="needs a fixed `batch_size`"):
        language_model.build({"vocab_size": VOCAB}, stateful=True)


def full_prefix_continuation(model, prompt, steps, **sampling):
    """Reference: re-run the whole model on the growing prefix at every step."""
    ids = np.array(prompt, "int32")
    out = []
    for k in range(steps):
        logits = without_padding(model(ids)[:, -1])
        token = sample_token(logits, tf.constant(sampling["temperature"]),
                             tf.constant(sampling["top_k"]), tf.constant(sampling["top_p"]),
                             tf.constant(sampling["seed"], tf.int64), tf.constant(k))
        out.append(int(token[0]))
        ids = np.concatenate([ids, np.array(token)[:, None]], axis=1)
    return out


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("sampling", [
    {"temperature": 0.0, "top_k": 0, "top_p": 1.0, "seed": 0},
    {"temperature": 1.0, "top_k": 5, "top_p": 1.0, "seed": 3},
    {"temperature": 0.8, "top_k": 0, "top_p": 0.9, "seed": 7},
])
def test_generation_with_carried_state_equals_rerunning_the_prefix(cell, sampling):
    keras.utils.set_random_seed(1)
    model = tiny(cell=cell)
    prompt = IDS[None, :7]
    generated = Generator(model)(prompt, max_tokens=12, **sampling).numpy()[0].tolist()
    assert generated == full_prefix_continuation(model, prompt, 12, **sampling)


def test_generation_is_seeded():
    generator = Generator(tiny())
    prompt = IDS[None, :5]
    a = generator(prompt, max_tokens=30, seed=1).numpy()
    assert (a == generator(prompt, max_tokens=30, seed=1).numpy()).all()
    assert (a != generator(prompt, max_tokens=30, seed=2).numpy()).any()
    assert a.shape == (1, 30)


def test_top_k_and_top_p_keep_the_right_tokens():
    logits = tf.math.log(tf.constant([[0.5, 0.3, 0.15, 0.05]]))

    def kept(**kw):
        return np.isfinite(filter_logits(logits, tf.constant(1.0), **kw).numpy()[0])
    assert kept(top_k=tf.constant(2), top_p=tf.constant(1.0)).tolist() == [True, True, False, False]
    assert kept(top_k=tf.constant(0), top_p=tf.constant(0.7)).tolist() == [True, True, False, False]
    assert kept(top_k=tf.constant(0), top_p=tf.constant(0.1)).tolist() == [True, False, False, False]
    assert kept(top_k=tf.constant(0), top_p=tf.constant(1.0)).all()


def test_top_p_on_a_cumulative_boundary_keeps_the_tokens_before_it_only():
    logits = tf.math.log(tf.constant([[0.5, 0.25, 0.25]]))

    def kept(p):
        return np.isfinite(filter_logits(logits, tf.constant(1.0), tf.constant(0),
                                         tf.constant(p)).numpy()[0]).tolist()

    assert kept(0.5) == [True, False, False]
    assert kept(0.5001) == [True, True, True]
    assert kept(0.4999) == [True, False, False]


def test_temperature_zero_is_the_argmax_even_between_equal_logits():
    logits = tf.constant([[1.0, 5.0, 5.0, 0.0]])
    picked = {int(sample_token(logits, tf.constant(0.0), tf.constant(0), tf.constant(1.0),
                               tf.constant(seed), tf.constant(0))[0]) for seed in range(20)}
    assert picked == {1}


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_temperature_divides_the_logits(temperature):
    logits = tf.constant([[2.0, -1.0, 0.5, 3.0]])
    np.testing.assert_allclose(
        filter_logits(logits, tf.constant(temperature), tf.constant(0), tf.constant(1.0)),
        logits / temperature, rtol=1e-6)


@pytest.mark.parametrize("k", [1, 3, 4, 5])
def test_top_k_keeps_the_k_largest_of_each_row(k):
    logits = tf.constant([[0.1, 0.9, 0.4, 0.7, 0.2], [5.0, 1.0, 3.0, 4.0, 2.0]])
    kept = np.isfinite(filter_logits(logits, tf.constant(1.0), tf.constant(k),
                                     tf.constant(1.0)).numpy())
    ranks = np.argsort(np.argsort(-logits.numpy(), axis=-1), axis=-1)
    np.testing.assert_array_equal(kept, ranks < k)


def test_top_p_is_applied_to_each_row_alone():
    logits = tf.math.log(tf.constant([[0.5, 0.25, 0.25], [0.25, 0.25, 0.5], [0.1, 0.8, 0.1]]))
    kept = np.isfinite(filter_logits(logits, tf.constant(1.0), tf.constant(0),
                                     tf.constant(0.6)).numpy())
    assert kept.tolist() == [[True, True, True], [True, True, True], [False, True, False]]


@pytest.mark.parametrize("kwargs, message", [
    ({"max_tokens": -1}, "max_tokens must be >= 0"),
    ({"top_p": 0.0}, r"top_p must be in \(0, 1\]"),
    ({"top_k": -2}, "top_k must be >= 0"),
])
def test_bad_generation_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Generator(tiny())(IDS[None, :3], **kwargs)


@pytest.mark.parametrize("config, message", [
    ({"vocab_size": 10, "layers": 2}, r"language_model.layers: unknown key"),
    ({"vocab_size": "10"}, r"language_model.vocab_size: expected int, got str"),
    ({"vocab_size": 10, "num_layers": 0}, r"language_model.num_layers: must be >= 1, got 0"),
    ({"vocab_size": 10, "dropout": 1.0}, r"language_model.dropout: must be < 1.0"),
    ({"vocab_size": 10, "cell": "transformer"}, r"language_model.cell: must be one of"),
    ({}, r"language_model.vocab_size: required key is missing"),
])
def test_bad_configs_name_the_key(config, message):
    with pytest.raises(ConfigError, match=message):
        language_model.build(config)


def test_keras_file_round_trip(tmp_path):
    model = tiny()
    path = tmp_path / "lm.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(loaded(IDS[None, :20]), model(IDS[None, :20]))


def test_stateful_model_after_other_shapes():
    """The recipe's evaluation after training: the compiled loops have seen other batch and
    time sizes (so their traces generalise to unknown sizes), and a stateful batch-1 model must
    still carry its statically shaped state through them."""
    config = {"vocab_size": VOCAB, "level": "char", "embedding_dim": 8, "hidden": 8,
              "num_layers": 2, "cell": "rnn", "tie_weights": False}
    other = language_model.build(config)
    for batch, steps in ((3, 9), (2, 5), (4, 7)):
        other(np.ones((batch, steps), "int32"))
    model = language_model.build(config, batch_size=1, stateful=True)
    step = tf.function(lambda x: model(x, training=False))
    first, second = step(IDS[None, :12]), step(IDS[None, 12:24])
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_state()
    whole = step(IDS[None, :24])
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, atol=1e-5)


def test_zaremba_schedule_keeps_the_rate_then_decays_each_epoch():
    from rnnzoo.tasks.language_model.recipe import exponential_rate

    rate = exponential_rate(20.0, 0.5, decay_start=6)
    assert [rate(e) for e in range(9)] == [20.0] * 6 + [10.0, 5.0, 2.5]
    assert exponential_rate(1.0, 0.5, decay_start=0)(0) == 0.5


def test_zaremba_schedule_holds_the_rate_of_the_epoch_before_its_end():
    from rnnzoo.tasks.language_model.recipe import exponential_rate

    rate = exponential_rate(20.0, 0.5, decay_start=2, decay_end=4)
    assert [rate(e) for e in range(7)] == [20.0, 20.0, 10.0, 5.0, 5.0, 5.0, 5.0]
    assert exponential_rate(20.0, 0.5, decay_start=2, decay_end=1)(5) == 20.0


def test_sgd_clips_the_global_norm_and_adam_each_gradient():
    from rnnzoo.training.compiling import optimizer

    sgd, adam = optimizer("sgd", 20.0, 0.25), optimizer("adam", 1e-3, 0.25)
    assert isinstance(sgd, keras.optimizers.SGD) and sgd.global_clipnorm == 0.25
    assert sgd.clipnorm is None and adam.clipnorm == 0.25
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        optimizer("rmsprop", 1.0, None)


def test_locked_input_dropout_drops_whole_units_for_the_whole_sequence():
    model = tiny(embedding_dim=6, input_dropout=0.5)
    layer = model.get_layer("locked_input_dropout")
    x = np.ones((4, 7, 6), "float32")
    dropped = keras.ops.convert_to_numpy(layer(x, training=True))
    assert set(np.unique(dropped)) <= {0.0, 2.0}
    np.testing.assert_array_equal(dropped, np.broadcast_to(dropped[:, :1], dropped.shape))
    assert "locked_input_dropout" not in [layer.name for layer in tiny().layers]


def test_banned_ids_are_never_generated_even_when_most_likely():
    model = tiny()
    generator = Generator(model)
    prompt = IDS[None, :5]
    greedy = generator(prompt, max_tokens=30, temperature=0.0).numpy()[0]
    favourite = int(np.bincount(greedy).argmax())
    for temperature in (0.0, 1.0, 5.0):
        ids = generator(prompt, max_tokens=60, temperature=temperature, seed=3,
                        banned=[favourite]).numpy()[0]
        assert favourite not in ids
    assert (generator(prompt, max_tokens=30, temperature=0.0, banned=[]).numpy()[0]
            == greedy).all()


def test_without_ids_sets_only_the_banned_logits_to_minus_infinity():
    from rnnzoo.tasks.language_model.sampling import without_ids

    logits = tf.constant([[1.0, 2.0, 3.0, 4.0]])
    out = without_ids(logits, tf.constant([0, 3], tf.int32)).numpy()[0]
    assert out[0] == -np.inf and out[3] == -np.inf and out[1:3].tolist() == [2.0, 3.0]
    np.testing.assert_array_equal(without_ids(logits, tf.zeros([0], tf.int32)), logits)
