"""Language models, word or character: next-token prediction over a text stream, truncated
BPTT with state carried across windows; generation by sampling."""

from rnnzoo.tasks.registry import Task, register_task

ENGLISH_SOURCE_CORPORA = {"ewt": "ud_en_ewt", "kjv": "bible_en_es", "austen": "austen",
                          "email": "spam_assassin", "sotu": "sotu"}
"""The sources of the ``english`` corpus, in their documented order, and the corpus each is read
from."""
DEFAULT_ENGLISH_SOURCES = ("ewt", "kjv", "austen")
"""The sources ``english`` reads when a recipe names none."""
READ_BY_ONE_CORPUS = {"test": "austen", "sources": "english"}
"""Data settings that only one corpus reads."""


@register_task
class LanguageModelTask(Task):
    name = "language_model"
    loads_as = "LanguageModel"
    headline_metrics = ("bits_per_char", "perplexity")

    def corpora_read(self, data: dict) -> list[str | None]:
        """The corpus, or for ``english`` the corpus of each of its ``sources``."""
        if data.get("corpus") != "english":
            return [data.get("corpus")]
        sources = data.get("sources") or DEFAULT_ENGLISH_SOURCES
        return [ENGLISH_SOURCE_CORPORA.get(source, source) for source in sources]

    def data_shown(self, data: dict) -> dict:
        """``data`` without the settings that its corpus does not read (``test`` is Austen's
        held-out novel, ``sources`` the texts of ``english``)."""
        return {key: value for key, value in data.items()
                if key not in READ_BY_ONE_CORPUS or READ_BY_ONE_CORPUS[key] == data.get("corpus")}
