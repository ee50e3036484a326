"""Linear-chain conditional random field: the layer :class:`CRF` and the model :class:`CRFModel`.

For unary potentials u_t(j) (the score of tag j at step t), a transition matrix A (A_ij: tag i
followed by tag j) and start and end vectors s and e, the score of a tag path y_1..y_n is

    S(y) = s(y_1) + Σ_t u_t(y_t) + Σ_{t>1} A(y_{t-1}, y_t) + e(y_n)

and p(y | u) = exp S(y) / Z with Z = Σ_y' exp S(y'). A masked step is skipped: the path runs
over the unmasked steps only, in order (right padding and arbitrary masks alike), and a fully
masked sequence holds the empty path alone (S = 0, log Z = 0).

Decoding can be constrained to the paths a tagging scheme allows (an ``I-X`` only after
``B-X`` or ``I-X``, say): ``allowed`` gives which transitions, first tags and last tags are
permitted, and Viterbi searches only the permitted paths (as AllenNLP's ``allowed_transitions``).
Training is unconstrained.

Training design. ``CRF.call`` always returns the Viterbi tags, so a model ending in the layer
predicts, evaluates and exports (SavedModel) as a tagger. Training needs the potentials that
enter the layer, not its output, so the model is a :class:`CRFModel`: a functional model built
as ``CRFModel(inputs, crf(potentials))`` whose ``train_step``/``test_step`` run the graph up to
the CRF's inputs (potentials and mask) and minimise the mean negative log-likelihood
−log p(y | u); ``compile`` takes an optimizer only. Being functional with a
``(*args, **kwargs)`` constructor, it is rebuilt by ``model.save``/
``keras.saving.load_model(safe_mode=True)`` and by ``keras.models.clone_model`` (hence
:func:`rnnzoo.layers.convert_model`). The alternatives were worse: a loss object holding the
layer does not survive ``load_model``, ``add_loss`` needs the gold tags as a model input, and
switching the output on ``training`` leaves ``evaluate`` without a loss.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from rnnzoo.layers.cells import PACKAGE

FORBIDDEN = -1e9
"""The score a forbidden transition, first or last tag gets in constrained decoding."""


def _time_major(x: tf.Tensor) -> tf.Tensor:
    return tf.transpose(x, [1, 0] + list(range(2, x.shape.rank)))


def check_allowed(allowed: Any, tags: int | None = None) -> dict | None:
    """``allowed`` as ``{"transitions": K×K, "start": K, "end": K}`` lists of booleans (or None),
    checked; a ValueError names what is wrong."""
    if allowed is None:
        return None
    if not isinstance(allowed, dict) or set(allowed) != {"transitions", "start", "end"}:
        raise ValueError("allowed: a dict with keys 'transitions', 'start' and 'end'")
    size = len(allowed["start"])
    rows = allowed["transitions"]
    if (len(allowed["end"]) != size or len(rows) != size or any(len(r) != size for r in rows)
            or (tags is not None and size != tags)):
        raise ValueError(f"allowed: 'transitions' must be {tags or size}×{tags or size} and "
                         f"'start', 'end' of {tags or size}, got {len(rows)} rows, start of "
                         f"{size}, end of {len(allowed['end'])}")
    return {key: [[bool(v) for v in row] for row in rows] if key == "transitions"
            else [bool(v) for v in allowed[key]] for key in ("transitions", "start", "end")}


def constrained(transitions, start, end, allowed: dict | None):
    """The parameters with every forbidden transition, first and last tag scored
    :data:`FORBIDDEN` (unchanged when ``allowed`` is None)."""
    if allowed is None:
        return transitions, start, end
    return tuple(tf.where(tf.constant(allowed[key]), value, FORBIDDEN) for key, value in
                 (("transitions", transitions), ("start", start), ("end", end)))


def viterbi(potentials, mask, transitions, start, end) -> tuple[tf.Tensor, tf.Tensor]:
    """The best path of each sequence under S(y) (module docstring) and its score.

    δ_1(j) = s(j) + u_1(j), δ_t(j) = max_i(δ_{t-1}(i) + A_ij) + u_t(j) with back-pointers
    ψ_t(j) = argmax_i; returns the best paths (B, T) int32 (0 at masked steps) and their scores
    max_j(δ_n(j) + e(j)) (B,). ``potentials`` (B, T, K) float32, ``mask`` (B, T) bool. Needs
    T ≥ 1.
    """
    u, m = _time_major(potentials), _time_major(mask)
    a, s, e = transitions, start, end
    shape = tf.shape(u)[1:]
    identity = tf.broadcast_to(tf.range(shape[1]), shape)

    def step(carry, inputs):
        delta, seen, _ = carry
        u_t, m_t = inputs
        scores = delta[:, :, None] + a
        new = tf.where(seen[:, None], tf.reduce_max(scores, axis=1), s) + u_t
        pointers = tf.argmax(scores, axis=1, output_type=tf.int32)
        return (tf.where(m_t[:, None], new, delta), seen | m_t,
                tf.where(m_t[:, None], pointers, identity))

    deltas, seen, pointers = tf.scan(
        step, (u, m), initializer=(tf.zeros(shape), tf.zeros(shape[:1], tf.bool), identity)
    )
    final = deltas[-1] + e
    best_last = tf.argmax(final, axis=1, output_type=tf.int32)
    # y_t = ψ_{t+1}(y_{t+1}), walked backwards; ψ is the identity at masked steps.
    following = tf.concat([pointers[1:], identity[None]], axis=0)
    path = tf.scan(lambda y, psi: tf.gather(psi, y, batch_dims=1), following,
                   initializer=best_last, reverse=True)
    tags = tf.transpose(tf.where(m, path, 0))
    return tags, tf.where(seen[-1], tf.reduce_max(final, axis=1), 0.0)


@keras.saving.register_keras_serializable(package=PACKAGE)
class CRF(keras.layers.Layer):
    """Linear-chain CRF over potentials (B, T, K); ``call`` returns the Viterbi tags (B, T).

    The path score is S(y) = s(y_1) + Σ_t u_t(y_t) + Σ_{t>1} A(y_{t-1}, y_t) + e(y_n) and
    p(y | u) = exp S(y) / Z (module docstring); ``call`` gives argmax_y S(y) by :func:`viterbi`,
    ``log_likelihood``/``negative_log_likelihood`` give log p(y | u) and the training loss.
    Weights: ``transitions`` A (K, K), ``start_transitions`` s (K,), ``end_transitions`` e (K,),
    with K inferred from the potentials. Masks (B, T) come from Keras's masking or ``mask=``.
    ``allowed`` (optional, see :func:`check_allowed`; settable after loading) restricts
    decoding to the permitted paths.

    Args:
        initializer: Initializer for A, s and e. Default: `"zeros"`.
        allowed: `{"transitions": K×K, "start": K, "end": K}` lists of booleans, the
            transitions, first and last tags decoding may use; `None` (default) allows all.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`).

    Call arguments:
        potentials: Unary potentials u of shape `(batch, T, K)`.
        mask: Boolean tensor of shape `(batch, T)`, `True` at the steps of the path
            (optional; all steps without it).

    Returns:
        The best paths, int32 of shape `(batch, T)`, 0 at masked steps.

    Example:

    ```python
    import numpy as np
    from rnnzoo.layers import CRF

    potentials = np.array([[[0.0, 2.0, 1.0], [3.0, 0.0, 1.0], [0.0, 0.0, 5.0]]], "float32")
    crf = CRF()  # A, s, e start at zero: the best path is the argmax of each step
    crf(potentials).numpy().tolist()  # [[1, 0, 2]]
    crf(potentials, mask=np.array([[True, True, False]])).numpy().tolist()  # [[1, 0, 0]]
    crf.allowed = {"transitions": [[True, True, False]] + [[True] * 3] * 2,
                   "start": [True] * 3, "end": [True] * 3}  # tag 2 never after tag 0
    crf(potentials).numpy().tolist()  # [[1, 2, 2]]
    ```
    """

    def __init__(self, initializer: Any = "zeros", allowed: dict | None = None, **kwargs):
        super().__init__(**kwargs)
        self.initializer = keras.initializers.get(initializer)
        self.allowed = check_allowed(allowed)
        self.supports_masking = True

    def build(self, input_shape) -> None:
        tags = input_shape[-1]
        if tags is None:
            raise ValueError(f"CRF {self.name!r}: the number of tags (last axis) must be known")
        self.transitions = self.add_weight(
            shape=(tags, tags), initializer=self.initializer, name="transitions"
        )
        self.start_transitions = self.add_weight(
            shape=(tags,), initializer=self.initializer, name="start_transitions"
        )
        self.end_transitions = self.add_weight(
            shape=(tags,), initializer=self.initializer, name="end_transitions"
        )

    def call(self, potentials, mask=None):
        return self.decode(potentials, mask)[0]

    def compute_output_spec(self, potentials, mask=None):
        return keras.KerasTensor(potentials.shape[:-1], dtype="int32")

    def compute_mask(self, potentials, mask=None):
        return mask

    def get_config(self) -> dict:
        return {**super().get_config(), "allowed": self.allowed,
                "initializer": keras.initializers.serialize(self.initializer)}

    def _inputs(self, potentials, mask):
        potentials = tf.cast(potentials, tf.float32)
        if mask is None:
            mask = tf.ones(tf.shape(potentials)[:2], tf.bool)
        return _time_major(potentials), _time_major(tf.cast(mask, tf.bool))

    def _parameters(self):
        return (tf.cast(self.transitions, tf.float32),
                tf.cast(self.start_transitions, tf.float32),
                tf.cast(self.end_transitions, tf.float32))

    def sequence_score(self, potentials, tags, mask=None) -> tf.Tensor:
        """S(y) for the paths ``tags`` (B, T), whatever their values at masked steps: (B,)."""
        u, m = self._inputs(potentials, mask)
        a, s, e = self._parameters()
        y = tf.where(m, _time_major(tf.cast(tags, tf.int32)), 0)
        batch = tf.shape(u)[1]

        def step(carry, inputs):
            score, previous, seen = carry
            u_t, y_t, m_t = inputs
            unary = tf.gather(u_t, y_t, batch_dims=1)
            transition = tf.gather_nd(a, tf.stack([previous, y_t], -1))
            into = tf.where(seen, transition, tf.gather(s, y_t))
            return (score + tf.where(m_t, unary + into, 0.0),
                    tf.where(m_t, y_t, previous), seen | m_t)

        start = (tf.zeros([batch]), tf.zeros([batch], tf.int32), tf.zeros([batch], tf.bool))
        score, last, seen = tf.foldl(step, (u, y, m), initializer=start)
        return score + tf.where(seen, tf.gather(e, last), 0.0)

    def log_partition(self, potentials, mask=None) -> tf.Tensor:
        """log Z (B,) by the forward algorithm: α_1(j) = s(j) + u_1(j),
        α_t(j) = logsumexp_i(α_{t-1}(i) + A_ij) + u_t(j), log Z = logsumexp_j(α_n(j) + e(j))."""
        u, m = self._inputs(potentials, mask)
        a, s, e = self._parameters()
        shape = tf.shape(u)[1:]

        def step(carry, inputs):
            alpha, seen = carry
            u_t, m_t = inputs
            recursed = tf.reduce_logsumexp(alpha[:, :, None] + a, axis=1)
            new = tf.where(seen[:, None], recursed, s) + u_t
            return tf.where(m_t[:, None], new, alpha), seen | m_t

        start = (tf.zeros(shape), tf.zeros(shape[:1], tf.bool))
        alpha, seen = tf.foldl(step, (u, m), initializer=start)
        return tf.where(seen, tf.reduce_logsumexp(alpha + e, axis=1), 0.0)

    def log_likelihood(self, potentials, tags, mask=None) -> tf.Tensor:
        """log p(y | u) = S(y) − log Z: (B,)."""
        return self.sequence_score(potentials, tags, mask) - self.log_partition(potentials, mask)

    def negative_log_likelihood(self, potentials, tags, mask=None, sample_weight=None) -> tf.Tensor:
        """The training loss: mean over the batch of −log p(y | u), weighted by ``sample_weight``
        (B,) when given."""
        nll = -self.log_likelihood(potentials, tags, mask)
        if sample_weight is not None:
            nll = nll * tf.reshape(tf.cast(sample_weight, nll.dtype), [-1])
        return tf.reduce_mean(nll)

    def decode(self, potentials, mask=None) -> tuple[tf.Tensor, tf.Tensor]:
        """The :func:`viterbi` paths (B, T) and their scores (B,), among the ``allowed`` paths
        when the layer has constraints."""
        potentials = tf.cast(potentials, tf.float32)
        if mask is None:
            mask = tf.ones(tf.shape(potentials)[:2], tf.bool)
        parameters = constrained(*self._parameters(), check_allowed(self.allowed,
                                                                     potentials.shape[-1]))
        return viterbi(potentials, tf.cast(mask, tf.bool), *parameters)


@keras.saving.register_keras_serializable(package=PACKAGE)
class CRFModel(keras.Model):
    """A functional model whose output is a :class:`CRF` layer's (the Viterbi tags), trained on
    the CRF's negative log-likelihood: ``CRFModel(inputs, crf(potentials))``, then
    ``compile(optimizer)`` and ``fit(x, gold_tags)``; the CRF's mask is the one Keras
    propagates to it (or its ``mask=`` argument). The reported ``loss`` is the mean
    −log p(y | u), plus the layers' regularisation losses.

    Args:
        *args: As `keras.Model`'s functional constructor: `inputs`, then `outputs`, the output
            of the model's one CRF layer.
        **kwargs: As `keras.Model`'s (`name`, ...).

    Call arguments:
        inputs: The model's inputs (as for any functional model).
        training: Python boolean, whether the model runs in training mode.

    Example:

    ```python
    import keras
    import numpy as np
    from rnnzoo.layers import CRF
    from rnnzoo.layers.crf import CRFModel

    words = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(10, 8, mask_zero=True)(words)
    model = CRFModel(words, CRF()(keras.layers.Dense(3)(x)))
    model.compile("adam")  # no loss: the CRF's negative log-likelihood
    ids, tags = np.array([[1, 2, 3], [4, 5, 0]]), np.array([[0, 1, 2], [1, 2, 0]])
    sorted(model.fit(ids, tags, epochs=2, verbose=0).history)  # ['loss']
    model.predict(ids, verbose=0).shape  # (2, 3)
    ```
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.nll_tracker = keras.metrics.Mean(name="loss")

    @property
    def crf(self) -> CRF:
        """The model's CRF layer."""
        layers = [layer for layer in self.layers if isinstance(layer, CRF)]
        if len(layers) != 1:
            raise TypeError(f"CRFModel {self.name!r} must hold one CRF layer, found {len(layers)}")
        return layers[0]

    @property
    def metrics(self) -> list:
        return [self.nll_tracker]

    def _loss(self, x, y, sample_weight, training: bool) -> tf.Tensor:
        if self.loss is not None or getattr(self, "_compile_metrics", None) is not None:
            raise ValueError(f"CRFModel {self.name!r}: the loss is the CRF's negative "
                             "log-likelihood and tags are scored with rnnzoo.metrics; compile "
                             "with an optimizer only (no loss, no metrics)")
        # This model's CRF node's inputs (the layer may serve other models too): the
        # potentials, then the mask when Keras propagated one.
        crf, node_index, _ = self.outputs[0]._keras_history
        node_inputs = list(crf._inbound_nodes[node_index].input_tensors)
        scored = keras.Model(self.input, node_inputs if len(node_inputs) > 1 else node_inputs[0])(
            x, training=training)
        potentials, mask = scored if isinstance(scored, (list, tuple)) else (scored, None)
        loss = self.crf.negative_log_likelihood(potentials, y, mask, sample_weight)
        return loss + tf.add_n(self.losses) if self.losses else loss

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            loss = self._loss(x, y, sample_weight, training=True)
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            scaled = self.optimizer.scale_loss(loss / replicas)
        weights = self.trainable_weights
        self.optimizer.apply_gradients(zip(tape.gradient(scaled, weights), weights))
        return self._track(loss, y)

    def test_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        return self._track(self._loss(x, y, sample_weight, training=False), y)

    def _track(self, loss, y) -> dict:
        self.nll_tracker.update_state(loss, sample_weight=tf.shape(y)[0])
        return {"loss": self.nll_tracker.result()}
