"""The zoo answers as it did before the tasks moved: ``tests/golden.py`` asks every shipped
model the same questions, and the answers equal those kept in ``tests/data/golden_answers.json``
(strings and tags exactly, probabilities and log-likelihoods within 1e-4)."""

import json

import numpy as np
import pytest
from golden import GOLDEN, answers

import rnnzoo

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


def test_a_changed_answer_is_caught():
    with pytest.raises(AssertionError, match=r"x\.tags\[0\]\[1\]"):
        _same({"tags": [["O", "B-PER"]]}, {"tags": [["O", "B-LOC"]]}, "x")
    with pytest.raises(AssertionError, match="probabilities"):
        _same({"probabilities": [0.5002]}, {"probabilities": [0.5]}, "x")
