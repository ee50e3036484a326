"""Translators: encoder-decoder with attention, trained with teacher forcing, decoded by beam
search."""

from rnnzoo.tasks.registry import Task, register_task


@register_task
class Seq2SeqTask(Task):
    name = "seq2seq"
    loads_as = "Translator"
    headline_metrics = ("bleu",)
