"""Sequence taggers (NER, POS): BiLSTM with character features and a CRF or softmax head."""

from rnnzoo.tasks.registry import Task, register_task


@register_task
class TaggerTask(Task):
    name = "tagger"
    loads_as = "Tagger"
    headline_metrics = ("f1", "accuracy")
