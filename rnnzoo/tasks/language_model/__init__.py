"""Language models, word or character: next-token prediction over a text stream, truncated
BPTT with state carried across windows; generation by sampling."""

from rnnzoo.tasks.registry import Task, register_task


@register_task
class LanguageModelTask(Task):
    name = "language_model"
    loads_as = "LanguageModel"
    headline_metrics = ("bits_per_char", "perplexity")
