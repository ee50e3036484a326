"""Data: readers (text, CoNLL-U, IOB2, documents, e-mail), TFDS examples
(:mod:`rnnzoo.data.tfds`), vocabularies as Keras preprocessing layers, and length-bucketed
batching.

Readers return Python lists (errors name the file and line: :class:`DataFormatError`); each
task's recipe turns them into its ``tf.data.Dataset``; :func:`lm_windows` cuts a language
model's token stream into ``(x, y)`` int64 ``[batch_size, bptt]`` windows.

The names below are imported from their modules on first use, so that reading a file (the
CLI's ``list`` and ``info``) does not import TensorFlow.
"""

from __future__ import annotations

import importlib

_MODULES = {
    "BOS": "rnnzoo.data.vocab",
    "CONLLU_COLUMNS": "rnnzoo.data.conll",
    "conllu_texts": "rnnzoo.data.conll",
    "DataFormatError": "rnnzoo.data.files",
    "Document": "rnnzoo.data.documents",
    "EOS": "rnnzoo.data.vocab",
    "PAD": "rnnzoo.data.vocab",
    "PAD_ID": "rnnzoo.data.vocab",
    "TaggedSentence": "rnnzoo.data.conll",
    "UNK": "rnnzoo.data.vocab",
    "UNK_ID": "rnnzoo.data.vocab",
    "Vocabulary": "rnnzoo.data.vocab",
    "bucket_batch": "rnnzoo.data.batching",
    "email_text": "rnnzoo.data.documents",
    "iob2_to_bioes": "rnnzoo.data.conll",
    "iter_lines": "rnnzoo.data.files",
    "lm_windows": "rnnzoo.data.text",
    "max_length": "rnnzoo.data.batching",
    "read_conllu": "rnnzoo.data.conll",
    "read_csv_documents": "rnnzoo.data.documents",
    "read_iob2": "rnnzoo.data.conll",
    "read_jsonl_documents": "rnnzoo.data.documents",
    "read_spamassassin": "rnnzoo.data.documents",
    "read_text": "rnnzoo.data.files",
    "stream_tokens": "rnnzoo.data.text",
    "token_lists": "rnnzoo.data.vocab",
    "tokenize": "rnnzoo.data.vocab",
}

__all__ = sorted(_MODULES)  # noqa: PLE0605 (the lazily imported names)


def __getattr__(name: str):
    if name in _MODULES:
        return getattr(importlib.import_module(_MODULES[name]), name)
    raise AttributeError(f"module 'rnnzoo.data' has no attribute {name!r}")
