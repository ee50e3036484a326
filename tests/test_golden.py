"""The zoo answers as it did before the tasks moved: ``tests/golden.py`` asks every shipped
model the same questions, and the answers equal those kept in ``tests/data/golden_answers.json``
(strings and tags exactly, probabilities and log-likelihoods within 1e-4), from ``rnnzoo.load``
and from the zoo folder's raw-text ``.keras`` loaded alone with ``keras.saving.load_model``:
called on strings, and its ``generate`` (language models) and ``translate`` (the translator).
(The SavedModel exports are held to ``rnnzoo.load``'s answers by tests/test_serving.py.)"""

import json

import keras
import numpy as np
import pytest
import yaml
from golden import GOLDEN, answers, raw_text_answers

import rnnzoo
from rnnzoo.zoo.registry import resolve

EXPECTED = json.loads(GOLDEN.read_text())


def _same(got, want, where: str) -> None:
    if isinstance(want, dict):
        assert sorted(got) == sorted(want), where
        for key in want:
            _same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert len(got) == len(want), where
        for k, (g, w) in enumerate(zip(got, want)):
            _same(g, w, f"{where}[{k}]")
    elif isinstance(want, float):
        assert np.isclose(got, want, rtol=1e-4, atol=1e-6), f"{where}: {got} != {want}"
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


def test_the_golden_file_covers_every_shipped_model():
    assert sorted(EXPECTED) == rnnzoo.list_models()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_load_answers_as_the_golden_file(name):
    _same(answers(rnnzoo.load(name)), EXPECTED[name], name)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_raw_text_keras_file_alone_answers_as_the_golden_file(name):
    folder = resolve(name)
    config = yaml.safe_load((folder / "config.yaml").read_text())
    model = keras.saving.load_model(folder / "model.keras", safe_mode=True)
    assert model.inputs[0].dtype == "string"
    _same(raw_text_answers(model, config), EXPECTED[name], name)


def test_a_changed_answer_is_caught():
    with pytest.raises(AssertionError, match=r"x\.tags\[0\]\[1\]"):
        _same({"tags": [["O", "B-PER"]]}, {"tags": [["O", "B-LOC"]]}, "x")
    with pytest.raises(AssertionError, match="probabilities"):
        _same({"probabilities": [0.5002]}, {"probabilities": [0.5]}, "x")


@pytest.mark.slow
def test_import_rnnzoo_is_all_a_fresh_process_needs_to_load_a_raw_text_keras_file():
    import subprocess
    import sys

    path = resolve("bilstm-spam") / "model.keras"
    code = ("import keras, tensorflow as tf, rnnzoo\n"
            f"model = keras.saving.load_model({str(path)!r}, safe_mode=True)\n"
            "print(model(tf.constant(['hello']))['label'].numpy()[0].decode())\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [EXPECTED["bilstm-spam"]["labels"][1]]
