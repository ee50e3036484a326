"""Seq2seq builder, decoding (greedy, beam search), metrics, heatmap and saving."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnzoo.layers import convert_model
from rnnzoo.metrics import bleu, chrf
from rnnzoo.plots import save_attention_heatmap
from rnnzoo.tasks.seq2seq import model as seq2seq
from rnnzoo.tasks.seq2seq.decoding import beam_search, gnmt_length_penalty, greedy_decode
from rnnzoo.training.config import ConfigError

PAD, BOS, EOS = 0, 1, 2
SOURCE = np.array([[3, 4, 5, 6, 0], [7, 8, 0, 0, 0], [9, 4, 4, 10, 11]], "int32")
TARGET_IN = np.array([[BOS, 5, 4, 0], [BOS, 8, 7, 6], [BOS, 3, 0, 0]], "int32")


def tiny(seed=0, **overrides):
    keras.utils.set_random_seed(seed)
    config = {"source_vocab_size": 12, "target_vocab_size": 12, "embedding_dim": 8, "hidden": 12,
              "encoder_layers": 1, "decoder_layers": 1, "dropout": 0.0, **overrides}
    return seq2seq.build(config)


def inputs(source=SOURCE, target_in=TARGET_IN):
    return {"source": source, "target_in": target_in}


def stepwise_logits(model, source, target_in):
    """Logits of ``target_in`` one token at a time through ``Seq2SeqParts.decode_step``."""
    parts = seq2seq.Seq2SeqParts.from_model(model)
    memory, states = parts.encode(source, training=False)
    mask = parts.memory_mask(source)
    steps = []
    for t in range(target_in.shape[1]):
        logits, states, _ = parts.decode_step(target_in[:, t], states, memory, mask)
        steps.append(logits)
    return np.stack(steps, axis=1)


@pytest.mark.parametrize("attention", ["bahdanau", "luong", None])
@pytest.mark.parametrize("implementation", ["explicit", "builtin"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_builder_every_cell_implementation_and_attention(cell, implementation, attention):
    model = tiny(cell=cell, implementation=implementation, attention=attention,
                 encoder_layers=2, decoder_layers=2, bidirectional=cell != "rnn", dropout=0.1)
    logits = model(inputs())
    assert logits.shape == (3, 4, 12)
    np.testing.assert_array_equal(logits._keras_mask, TARGET_IN != PAD)
    valid = TARGET_IN != PAD
    np.testing.assert_allclose(stepwise_logits(model, SOURCE, TARGET_IN)[valid],
                               np.asarray(logits)[valid], atol=1e-5)
    other = convert_model(model, to="builtin" if implementation == "explicit" else "explicit")
    np.testing.assert_allclose(other(inputs()), logits, atol=1e-5)


@pytest.mark.parametrize("key, value, message", [
    ("beam_size", 0, "seq2seq.beam_size: must be >= 1"),
    ("attention", "dot", "seq2seq.attention: must be one of"),
    ("cell", "tcn", "seq2seq.cell"),
    ("hidden", 2.5, "seq2seq.hidden: expected int"),
    ("dropout", 1.0, "seq2seq.dropout"),
    ("length_penalty", -0.1, "seq2seq.length_penalty"),
    ("max_decode_length", 0, "seq2seq.max_decode_length"),
    ("bos_id", 12, "seq2seq.bos_id: must be < target_vocab_size"),
    ("eos_id", BOS, "seq2seq.eos_id: must differ from bos_id"),
    ("beam", 4, "seq2seq.beam: unknown key"),
])
def test_config_errors_name_the_key(key, value, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        tiny(**{key: value})


def test_config_defaults():
    config = seq2seq.validate_config({"source_vocab_size": 100, "target_vocab_size": 90})
    assert config["attention"] == "luong" and config["beam_size"] == 5
    assert config["bos_id"] == BOS and config["eos_id"] == EOS


def test_teacher_forcing_shifts_targets():
    target_in, target_out = seq2seq.teacher_forcing([[5, 6, 7], [8, 0, 0]], BOS, EOS)
    np.testing.assert_array_equal(target_in, [[BOS, 5, 6, 7], [BOS, 8, 0, 0]])
    np.testing.assert_array_equal(target_out, [[5, 6, 7, EOS], [8, EOS, 0, 0]])


def test_output_prior_makes_the_untrained_model_predict_the_unigram():
    model = tiny()
    counts = np.arange(12) % 5 * 10
    seq2seq.set_output_prior(model, counts)
    probabilities = keras.ops.softmax(model(inputs()), axis=-1).numpy()
    expected = (counts + 1) / (counts + 1).sum()
    np.testing.assert_allclose(probabilities.mean(axis=(0, 1)), expected, atol=2e-3)


@pytest.mark.parametrize("counts", [np.ones(13), -np.ones(12)])
def test_output_prior_refuses_wrong_counts(counts):
    with pytest.raises(ValueError, match="counts: expected \\(12,\\) non-negative"):
        seq2seq.set_output_prior(tiny(), counts)


def sequence_log_probs(model, source, hypotheses):
    """log p(Y | x) by teacher forcing, for each row of ``hypotheses`` (EOS then padding)."""
    hypotheses = np.asarray(hypotheses)
    target_in = np.concatenate([np.full((len(hypotheses), 1), BOS), hypotheses[:, :-1]], 1)
    target_in = np.where(np.cumsum(target_in == EOS, axis=1) > 0, PAD, target_in)
    log_probs = tf.nn.log_softmax(model(inputs(source, target_in.astype("int32")))).numpy()
    picked = np.take_along_axis(log_probs, hypotheses[..., None], -1)[..., 0]
    return np.where(hypotheses != PAD, picked, 0.0).sum(1)


@pytest.mark.parametrize("length_penalty", [0.0, 0.6])
def test_beam_of_one_is_greedy(length_penalty):
    for seed in range(3):
        model = tiny(seed, cell="gru", attention="bahdanau")
        greedy = greedy_decode(model, SOURCE, max_length=7)
        beam = beam_search(model, SOURCE, beam_size=1, length_penalty=length_penalty,
                           max_length=7)
        np.testing.assert_array_equal(beam.ids[:, 0], greedy.ids)
        np.testing.assert_array_equal(beam.lengths[:, 0], greedy.lengths)
        np.testing.assert_allclose(beam.log_probs[:, 0], greedy.scores, rtol=1e-6)
        np.testing.assert_allclose(beam.attention[:, 0], greedy.attention, atol=1e-7)


def test_greedy_outputs_are_consistent():
    model = tiny(cell="lstm", bidirectional=True)
    result = greedy_decode(model, SOURCE, max_length=6)
    ids = result.ids.numpy()
    np.testing.assert_allclose(sequence_log_probs(model, SOURCE, ids), result.scores, atol=1e-4)
    for row, length in zip(ids, result.lengths.numpy()):
        assert not set(row[:length]) & {PAD, BOS, EOS}
        assert list(row[length:]) in ([], [EOS] + [PAD] * (len(row) - length - 1))
    emitted = ids != PAD
    weights = result.attention.numpy()
    np.testing.assert_allclose(weights.sum(-1)[emitted], 1.0, rtol=1e-5)
    np.testing.assert_array_equal(weights.sum(-1)[~emitted], 0.0)
    np.testing.assert_array_equal(weights[1, :, 2:], 0.0)


@pytest.mark.parametrize("seed", range(3))
def test_exhaustive_beam_is_exact_and_never_below_greedy(seed):
    """With 3 emittable tokens (EOS, 3, 4) and at most L = 4 of them, a beam of 3^(L-1) = 27
    prunes nothing before the last step, so its best hypothesis is the best of all 31 possible
    ones, found by enumeration — and at least as likely as the greedy one."""
    model = tiny(seed, target_vocab_size=5, cell="gru", attention="luong")
    source = SOURCE[:2]
    length = 4
    candidates = np.array(list(itertools.product([EOS, 3, 4], repeat=length)))
    candidates = np.where(np.cumsum(candidates == EOS, axis=1) - (candidates == EOS) > 0,
                          PAD, candidates)
    candidates = np.unique(candidates, axis=0)
    greedy = greedy_decode(model, source, max_length=length)
    for alpha in (0.0, 0.6):
        beam = beam_search(model, source, beam_size=27, length_penalty=alpha, n_best=27,
                           max_length=length)
        for b in range(len(source)):
            log_probs = sequence_log_probs(model, np.repeat(source[b:b + 1], len(candidates), 0),
                                           candidates)
            emitted = (candidates != PAD).sum(1)
            scores = log_probs / gnmt_length_penalty(emitted, alpha).numpy()
            best = np.argmax(scores)
            np.testing.assert_allclose(beam.scores[b, 0], scores[best], atol=1e-4)
            np.testing.assert_array_equal(beam.ids[b, 0, :length], candidates[best])
            assert np.all(np.diff(beam.scores[b]) <= 1e-6)
            if alpha == 0.0:
                assert beam.log_probs[b, 0] >= greedy.scores[b] - 1e-5


@pytest.mark.parametrize("beam_size", [2, 3])
def test_narrow_beam_never_scores_below_greedy(beam_size):
    """A pruning beam can lose the greedy path (seed 6, beam 2 did, by 5 nats, before the
    greedy hypothesis was kept as a candidate); the returned best never ranks below greedy."""
    source = np.random.default_rng(0).integers(3, 12, size=(16, 5)).astype("int32")
    for seed in (6, 7):
        model = tiny(seed, cell="gru", attention="bahdanau")
        greedy = greedy_decode(model, source, max_length=8)
        for alpha in (0.0, 0.6):
            beam = beam_search(model, source, beam_size=beam_size, length_penalty=alpha,
                               n_best=2, max_length=8)
            emitted = (greedy.ids.numpy() != PAD).sum(-1)
            greedy_rank = greedy.scores / gnmt_length_penalty(emitted, alpha)
            assert np.all(beam.scores[:, 0].numpy() >= greedy_rank.numpy() - 1e-5)
            assert np.all(np.diff(beam.scores.numpy(), axis=1) <= 1e-6)
            np.testing.assert_allclose(sequence_log_probs(model, source, beam.ids[:, 0].numpy()),
                                       beam.log_probs[:, 0], atol=1e-4)


def test_beam_search_n_best():
    model = tiny(1, cell="lstm", attention="luong")
    beam = beam_search(model, SOURCE, beam_size=4, n_best=3, length_penalty=0.6, max_length=6)
    assert beam.ids.shape[:2] == (3, 3) and beam.attention.shape[:2] == (3, 3)
    assert np.all(np.diff(beam.scores.numpy(), axis=1) <= 1e-6)
    emitted = (beam.ids.numpy() != PAD).sum(-1)
    np.testing.assert_allclose(
        beam.scores, beam.log_probs / gnmt_length_penalty(emitted, 0.6), rtol=1e-5
    )
    for n in range(3):
        np.testing.assert_allclose(sequence_log_probs(model, SOURCE, beam.ids[:, n].numpy()),
                                   beam.log_probs[:, n], atol=1e-4)
    with pytest.raises(ValueError, match="n_best"):
        beam_search(model, SOURCE, beam_size=2, n_best=3)


def test_keras_round_trip_safe_mode(tmp_path):
    model = tiny(cell="lstm", attention="bahdanau", bidirectional=True, encoder_layers=2,
                 dropout=0.2)
    path = tmp_path / "seq2seq.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded(inputs()), model(inputs()), atol=1e-6)
    np.testing.assert_array_equal(greedy_decode(loaded, SOURCE, max_length=5).ids,
                                  greedy_decode(model, SOURCE, max_length=5).ids)


def test_metrics_on_a_toy_pair():
    hypotheses, references = ["the cat sat on the mat"], ["the cat sat on the mat"]
    assert bleu(hypotheses, references) == pytest.approx(100.0)
    assert chrf(hypotheses, references) == pytest.approx(100.0)
    assert 0.0 < bleu(["the cat sat on a mat"], references) < 100.0
    assert 0.0 < chrf(["the cat sat on a mat"], references) < 100.0


def test_attention_heatmap_png(tmp_path):
    model = tiny(attention="luong")
    result = greedy_decode(model, SOURCE[:1], max_length=4)
    path = save_attention_heatmap(result.attention[0], ["3", "4", "5", "6"],
                                  [str(i) for i in result.ids[0].numpy()],
                                  tmp_path / "attention.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="do not cover"):
        save_attention_heatmap(np.ones((2, 2)), ["x"] * 3, ["y"], tmp_path / "bad.png")


def digit_reversal(rng, n, min_length=3, max_length=6):
    """Random digit strings (ids 3–12) and their reversals, 0-padded to ``max_length``."""
    lengths = rng.integers(min_length, max_length + 1, n)
    source = np.zeros((n, max_length), "int32")
    target = np.zeros_like(source)
    for row, length in enumerate(lengths):
        digits = rng.integers(3, 13, length)
        source[row, :length], target[row, :length] = digits, digits[::-1]
    return source, target


@pytest.mark.slow
def test_learns_to_reverse_digit_sequences():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    model = seq2seq.build({"source_vocab_size": 13, "target_vocab_size": 13, "embedding_dim": 32,
                           "hidden": 64, "encoder_layers": 1, "decoder_layers": 1, "cell": "gru",
                           "attention": "luong", "dropout": 0.0})
    seq2seq.compile_for_training(model, learning_rate=1e-2)
    source, target = digit_reversal(rng, 400 * 64)
    target_in, target_out = seq2seq.teacher_forcing(target, BOS, EOS)
    model.fit(inputs(source, target_in), target_out, batch_size=64, epochs=1, verbose=0)
    source, target = digit_reversal(rng, 500)
    ids = greedy_decode(model, source, max_length=8).ids.numpy()
    _, expected = seq2seq.teacher_forcing(target, BOS, EOS)
    ids = np.pad(ids, [(0, 0), (0, max(0, expected.shape[1] - ids.shape[1]))])
    exact = np.mean(np.all(ids[:, :expected.shape[1]] == expected.numpy(), axis=1))
    assert exact >= 0.95, f"exact match {exact:.3f}"


def test_decoding_exports_to_a_saved_model(tmp_path):
    model = tiny(cell="lstm", attention="bahdanau", bidirectional=True)

    class Exported(tf.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32),
                                      tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.float32)])
        def translate(self, source, max_length, alpha):
            greedy = greedy_decode(self.model, source, max_length=max_length)
            beam = beam_search(self.model, source, beam_size=3, n_best=2, length_penalty=alpha,
                               max_length=max_length)
            return {"greedy": greedy.ids, "beam": beam.ids, "beam_scores": beam.scores}

    exported = Exported()
    tf.saved_model.save(exported, str(tmp_path / "saved"),
                        signatures={"translate": exported.translate})
    served = tf.saved_model.load(str(tmp_path / "saved")).signatures["translate"]
    result = served(source=tf.constant(SOURCE), max_length=tf.constant(5),
                    alpha=tf.constant(0.6))
    np.testing.assert_array_equal(result["greedy"], greedy_decode(model, SOURCE, max_length=5).ids)
    beam = beam_search(model, SOURCE, beam_size=3, n_best=2, max_length=5)
    np.testing.assert_array_equal(result["beam"], beam.ids)
    np.testing.assert_allclose(result["beam_scores"], beam.scores, rtol=1e-6)
