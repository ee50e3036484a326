"""The CRF equals brute-force enumeration of tag paths; a model ending in it trains and saves."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnzoo.layers import CRF
from rnnzoo.layers.crf import CRFModel


def _crf(tags, rng):
    layer = CRF()
    layer.build((None, None, tags))
    layer.set_weights([rng.normal(size=w.shape).astype("float32") for w in layer.get_weights()])
    return layer


def _mask(kind, batch, steps, rng):
    if kind == "none":
        return None
    if kind == "right":
        lengths = rng.integers(0, steps + 1, size=batch)
        return np.arange(steps)[None, :] < lengths[:, None]
    return rng.random((batch, steps)) < 0.6


def _path_scores(u, mask, layer):
    """{path: S(path)} over the unmasked steps of one sequence u (T, K), by enumeration."""
    a, s, e = (w.astype("float64") for w in layer.get_weights())
    steps = np.flatnonzero(mask)
    scores = {}
    for path in itertools.product(range(u.shape[1]), repeat=len(steps)):
        score = sum(u[t, y] for t, y in zip(steps, path))
        score += sum(a[i, j] for i, j in zip(path, path[1:]))
        if path:
            score += s[path[0]] + e[path[-1]]
        scores[path] = score
    return scores


def _logsumexp(values):
    values = np.asarray(list(values))
    top = values.max()
    return top + np.log(np.exp(values - top).sum())


@settings(max_examples=40, deadline=None)
@given(
    batch=st.integers(1, 3),
    steps=st.integers(1, 4),
    tags=st.integers(1, 3),
    mask_kind=st.sampled_from(["none", "right", "arbitrary"]),
    seed=st.integers(0, 2**31 - 1),
)
def test_equals_brute_force(batch, steps, tags, mask_kind, seed):
    rng = np.random.default_rng(seed)
    layer = _crf(tags, rng)
    u = rng.normal(size=(batch, steps, tags)).astype("float32")
    mask = _mask(mask_kind, batch, steps, rng)
    gold = rng.integers(0, tags, size=(batch, steps))
    full = np.ones((batch, steps), bool) if mask is None else mask

    log_z = layer.log_partition(u, mask).numpy()
    log_likelihood = layer.log_likelihood(u, gold, mask).numpy()
    best, best_score = (x.numpy() for x in layer.decode(u, mask))
    called = layer(u, mask=mask).numpy()

    for b in range(batch):
        scores = _path_scores(u[b].astype("float64"), full[b], layer)
        expected_z = _logsumexp(scores.values())
        gold_path = tuple(gold[b][full[b]])
        argmax = max(scores, key=scores.get)
        np.testing.assert_allclose(log_z[b], expected_z, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(log_likelihood[b], scores[gold_path] - expected_z,
                                   rtol=1e-5, atol=1e-5)
        assert tuple(best[b][full[b]]) == argmax
        assert not best[b][~full[b]].any()
        np.testing.assert_allclose(best_score[b], scores[argmax], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(called, best)


def test_marginals_are_the_gradient_of_log_z():
    """∂ log Z / ∂u_t(j) = p(y_t = j): compared with enumeration, zero at masked steps."""
    rng = np.random.default_rng(3)
    layer = _crf(3, rng)
    u = tf.constant(rng.normal(size=(2, 4, 3)).astype("float32"))
    mask = np.array([[True, False, True, True], [False, True, True, False]])
    with tf.GradientTape() as tape:
        tape.watch(u)
        log_z = tf.reduce_sum(layer.log_partition(u, mask))
    grads = tape.gradient(log_z, u).numpy()
    for b in range(2):
        scores = _path_scores(u[b].numpy().astype("float64"), mask[b], layer)
        z = _logsumexp(scores.values())
        expected = np.zeros((4, 3))
        for path, score in scores.items():
            for t, y in zip(np.flatnonzero(mask[b]), path):
                expected[t, y] += np.exp(score - z)
        np.testing.assert_allclose(grads[b], expected, atol=1e-5)


def test_gradients_reach_potentials_and_weights():
    rng = np.random.default_rng(0)
    layer = _crf(3, rng)
    u = tf.constant(rng.normal(size=(2, 4, 3)).astype("float32"))
    tags = rng.integers(0, 3, size=(2, 4))
    mask = np.array([[True, True, True, False], [True, True, True, True]])
    with tf.GradientTape() as tape:
        tape.watch(u)
        loss = layer.negative_log_likelihood(u, tags, mask)
    grads = tape.gradient(loss, [u] + layer.trainable_weights)
    assert len(layer.trainable_weights) == 3 and all(grad is not None for grad in grads)
    for grad in grads:
        assert np.isfinite(grad.numpy()).all() and np.abs(grad.numpy()).sum() > 0
    assert not grads[0].numpy()[0, 3].any()


def test_fully_masked_sequence_is_the_empty_path():
    layer = _crf(2, np.random.default_rng(1))
    u = np.ones((1, 3, 2), "float32")
    mask = np.zeros((1, 3), bool)
    assert layer.log_partition(u, mask).numpy()[0] == 0.0
    assert layer.log_likelihood(u, np.ones((1, 3), int), mask).numpy()[0] == 0.0
    tags, score = layer.decode(u, mask)
    assert not tags.numpy().any() and score.numpy()[0] == 0.0


def _tiny_model(tags=3, vocab=12, regularizer=None):
    words = keras.Input((None,), dtype="int32", name="words")
    x = keras.layers.Embedding(vocab, 8, mask_zero=True)(words)
    potentials = keras.layers.Dense(tags, kernel_regularizer=regularizer)(x)
    return CRFModel(words, CRF(name="crf")(potentials))


def _toy_data(rng, vocab=12, tags=3, n=64, steps=6):
    words = rng.integers(1, vocab, size=(n, steps))
    lengths = rng.integers(2, steps + 1, size=n)
    words[np.arange(steps)[None, :] >= lengths[:, None]] = 0
    return words, np.where(words > 0, words % tags, 0)


def test_tiny_model_trains_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)
    words, tags = _toy_data(rng)
    model = _tiny_model()
    model.compile(keras.optimizers.Adam(0.05))
    history = model.fit(words, tags, epochs=4, batch_size=16, verbose=0).history["loss"]
    assert history[-1] < 0.2 * history[0]
    predicted = model.predict(words, verbose=0)
    assert predicted.dtype == np.int32 and (predicted == tags).mean() > 0.95
    assert model.evaluate(words, tags, verbose=0) < history[0]

    path = tmp_path / "crf.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, CRFModel)
    np.testing.assert_array_equal(loaded.predict(words, verbose=0), predicted)
    loaded.fit(words, tags, epochs=1, batch_size=32, verbose=0)


def test_exports_to_saved_model(tmp_path):
    model = _tiny_model()
    words, _ = _toy_data(np.random.default_rng(1), n=4)
    model.export(str(tmp_path / "served"), verbose=False)
    served = tf.saved_model.load(str(tmp_path / "served"))
    np.testing.assert_array_equal(served.serve(tf.constant(words, tf.int32)).numpy(),
                                  model.predict(words, verbose=0))


def test_compile_with_a_loss_is_refused():
    model = _tiny_model()
    words, tags = _toy_data(np.random.default_rng(2), n=4)
    model.compile("adam", loss="mse")
    with pytest.raises(ValueError, match="optimizer only"):
        model.fit(words, tags, verbose=0)


def test_compile_with_metrics_is_refused_and_regularisers_count():
    model = _tiny_model()
    words, tags = _toy_data(np.random.default_rng(3), n=4)
    model.compile("adam", metrics=["accuracy"])
    with pytest.raises(ValueError, match="no metrics"):
        model.fit(words, tags, verbose=0)
    plain = _tiny_model()
    regularised = _tiny_model(regularizer=keras.regularizers.L2(10.0))
    regularised.set_weights(plain.get_weights())
    for model in (plain, regularised):
        model.compile("adam")
    assert regularised.evaluate(words, tags, verbose=0) > plain.evaluate(words, tags, verbose=0) + 1



# --- decoding constrained to a tagging scheme ---------------------------------------------------

SCHEME_TAGS = {
    "IOB2": ["O", "B-A", "I-A", "B-B", "I-B"],
    "BIOES": ["O", "B-A", "I-A", "E-A", "S-A", "B-B", "I-B", "E-B", "S-B"],
}


def _valid(path: list[str], scheme: str) -> bool:
    """Written apart from the code under test: IOB2 — an I-X continues a B-X or I-X; BIOES —
    the tags read as a sequence of O, S-X and B-X I-X* E-X."""
    if scheme == "IOB2":
        return all(not tag.startswith("I-") or (k > 0 and path[k - 1][2:] == tag[2:]
                                                and path[k - 1][0] in "BI")
                   for k, tag in enumerate(path))
    open_entity = None
    for tag in path:
        kind, entity = tag[0], tag[2:]
        if open_entity is None and kind in "IE" or open_entity is not None and (
                kind not in "IE" or entity != open_entity):
            return False
        open_entity = entity if kind in "BI" else None
    return open_entity is None


def _best_valid(score, tags: list[str], length: int, scheme: str) -> tuple[float, tuple]:
    return max((score(path), path) for path in itertools.product(range(len(tags)), repeat=length)
               if _valid([tags[i] for i in path], scheme))


@pytest.mark.parametrize("scheme", ["IOB2", "BIOES"])
@pytest.mark.parametrize("seed", range(4))
def test_constrained_viterbi_equals_brute_force_over_valid_paths(scheme, seed):
    from rnnzoo.tasks.tagger.model import allowed_transitions

    tags = SCHEME_TAGS[scheme]
    rng = np.random.default_rng(seed)
    k, steps = len(tags), 4
    layer = CRF(allowed=allowed_transitions(tags, scheme))
    u = (3 * rng.normal(size=(6, steps, k))).astype("float32")
    layer.build(u.shape)
    for weight in (layer.transitions, layer.start_transitions, layer.end_transitions):
        weight.assign(3 * rng.normal(size=weight.shape).astype("float32"))
    a, s, e = (w.numpy() for w in (layer.transitions, layer.start_transitions,
                                   layer.end_transitions))
    lengths = [4, 4, 3, 2, 1, 0]
    mask = np.arange(steps)[None] < np.array(lengths)[:, None]
    paths, best = (t.numpy() for t in layer.decode(u, mask))
    for b, length in enumerate(lengths):
        def score(path, b=b):
            return (s[path[0]] + e[path[-1]] + sum(u[b, t, y] for t, y in enumerate(path))
                    + sum(a[x, y] for x, y in zip(path, path[1:])))

        if length == 0:
            assert best[b] == 0.0 and not paths[b].any()
            continue
        want_score, want = _best_valid(score, tags, length, scheme)
        assert tuple(paths[b][:length]) == want, (scheme, seed, b)
        assert not paths[b][length:].any()
        np.testing.assert_allclose(best[b], want_score, rtol=1e-5)


@pytest.mark.parametrize("scheme", ["IOB2", "BIOES"])
def test_constrained_softmax_decoding_equals_brute_force(scheme):
    from rnnzoo.tasks.tagger.model import allowed_transitions, decode_tag_ids

    tags = SCHEME_TAGS[scheme]
    rng = np.random.default_rng(7)
    probs = rng.dirichlet(np.ones(len(tags)) * 0.3, size=(8, 4)).astype("float32")
    words = np.ones((8, 4), "int32")
    got = decode_tag_ids(tf.constant(probs), tf.constant(words),
                         allowed_transitions(tags, scheme)).numpy()
    for b in range(8):
        _, want = _best_valid(lambda p, b=b: sum(np.log(probs[b, t, y]) for t, y in enumerate(p)),
                              tags, 4, scheme)
        assert tuple(got[b]) == want
    plain = decode_tag_ids(tf.constant(probs), tf.constant(words), None).numpy()
    np.testing.assert_array_equal(plain, probs.argmax(-1))


def test_allowed_transitions_of_each_scheme():
    from rnnzoo.tasks.tagger.model import allowed_transitions

    tags = SCHEME_TAGS["IOB2"]
    allowed = allowed_transitions(tags, "IOB2")
    assert allowed["start"] == [True, True, False, True, False]
    assert allowed["end"] == [True] * 5
    assert [tags[j] for j in range(5) if allowed["transitions"][1][j]] == [
        "O", "B-A", "I-A", "B-B"]
    assert allowed_transitions(["NOUN", "VERB"], None) is None
    with pytest.raises(ValueError, match=r"tag 'S-A' is not O or B/I-TYPE \(IOB2\)"):
        allowed_transitions(["O", "S-A"], "IOB2")
    with pytest.raises(ValueError, match="tag 'X' is not O or B/I/E/S-TYPE"):
        allowed_transitions(["O", "X"], "BIOES")


def test_constraints_travel_with_the_layer_and_are_checked(tmp_path):
    from rnnzoo.tasks.tagger.model import allowed_transitions

    allowed = allowed_transitions(SCHEME_TAGS["IOB2"], "IOB2")
    inputs = keras.Input((None, 5))
    model = keras.Model(inputs, CRF(allowed=allowed, name="crf")(inputs))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert loaded.get_layer("crf").allowed == allowed
    with pytest.raises(ValueError, match="allowed: a dict with keys"):
        CRF(allowed={"transitions": []})
    wrong = CRF(allowed=allowed_transitions(["O", "B-A", "I-A"], "IOB2"))
    with pytest.raises(ValueError, match=r"'transitions' must be 5×5"):
        wrong(np.zeros((1, 2, 5), "float32"))


@pytest.mark.parametrize("part, size", [("end", 4), ("end", 2), ("start", 4), ("row", 4)])
def test_allowed_of_unequal_sizes_is_refused(part, size):
    from rnnzoo.layers.crf import check_allowed

    allowed = {"transitions": [[True] * 3 for _ in range(3)], "start": [True] * 3,
               "end": [True] * 3}
    if part == "row":
        allowed["transitions"][1] = [True] * size
    else:
        allowed[part] = [True] * size
    with pytest.raises(ValueError, match="'transitions' must be"):
        check_allowed(allowed)
    assert check_allowed({**allowed, "transitions": [[True] * 3] * 3, "start": [True] * 3,
                          "end": [True] * 3}) is not None


def test_symbolic_output_is_one_tag_per_step():
    inputs = keras.Input((7, 5))
    assert tuple(CRF()(inputs).shape) == (None, 7)


def test_loss_is_the_weighted_mean_negative_log_likelihood():
    rng = np.random.default_rng(8)
    layer = _crf(3, rng)
    u = tf.constant(rng.normal(size=(2, 4, 3)).astype("float32"))
    tags = tf.constant([[0, 1, 2, 1], [2, 2, 0, 1]])
    log_p = layer.log_likelihood(u, tags).numpy()
    assert (log_p < 0).all()
    np.testing.assert_allclose(layer.negative_log_likelihood(u, tags), -log_p.mean(), rtol=1e-6)
    weights = np.array([0.25, 2.0], "float32")
    np.testing.assert_allclose(layer.negative_log_likelihood(u, tags, sample_weight=weights),
                               -(log_p * weights).mean(), rtol=1e-6)
