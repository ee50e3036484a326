"""The language-model recipe keeps the task contract (tests/task_contract.py) on a one-epoch
character GRU of the tiny Austen fixture."""

import pytest
import tensorflow as tf
from task_contract import TaskContract
from tiny_recipes import TINY_LM

from rnnzoo.tasks.language_model import recipe

TEXTS = ["It is a truth", "Emma", ""]


@pytest.fixture(scope="module")
def run(austen_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    return out, recipe.train(TINY_LM, str(austen_dir), out)


class TestLanguageModelContract(TaskContract):
    RECIPE = TINY_LM
    OWN_FILES = {"vocab.txt"}

    @pytest.fixture
    def data_dir(self, austen_dir):
        return austen_dir

    def in_process(self, model):
        return [model.log_likelihood(text)[0] for text in TEXTS]

    def served(self, signatures):
        out = signatures["score"](texts=tf.constant(TEXTS))
        return out["log_likelihood"].numpy().tolist()
