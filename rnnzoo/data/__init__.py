"""Data: readers (text, CoNLL-U, IOB2, TSV pairs, documents, e-mail), TFDS loaders, vocabularies
as Keras preprocessing layers, and length-bucketed batching.

Readers return Python lists (errors name the file and line: :class:`DataFormatError`); the
``*_dataset`` builders turn them into ``tf.data.Dataset`` with these element formats:

- text stream for LMs: ``(x, y)`` int64 ``[batch_size, bptt]`` (:func:`lm_windows`)
- sentence LM: ``(x, y)`` int64 ``[None]`` (:func:`sentence_lm_dataset`); text: ``{"text"}``
- tagging: ``{"tokens": string [None], "tags": string [None]}``
- pairs: ``{"source": string [], "target": string []}``
- documents: ``{"text": string [], "label": int64 []}`` with a list of label names
"""

from rnnzoo.data.batching import bucket_batch, max_length
from rnnzoo.data.conll import (
    CONLLU_COLUMNS,
    UPOS_TAGS,
    TaggedSentence,
    iob2_to_bioes,
    read_conllu,
    read_iob2,
    tagging_dataset,
)
from rnnzoo.data.documents import (
    Document,
    documents_dataset,
    email_text,
    html_to_text,
    read_csv_documents,
    read_jsonl_documents,
    read_spamassassin,
    spamassassin_label,
)
from rnnzoo.data.files import DataFormatError, iter_lines, read_text
from rnnzoo.data.pairs import Pair, pairs_dataset, read_tsv_pairs
from rnnzoo.data.text import (
    lm_windows,
    sentence_lm_dataset,
    split_sentences,
    stream_tokens,
    text_dataset,
    text_from_dataset,
)
from rnnzoo.data.tfds_loaders import load_conll2003, load_imdb_reviews, load_ted_hrlr, load_tiny_shakespeare
from rnnzoo.data.vocab import (
    BOS,
    EOS,
    PAD,
    PAD_ID,
    UNK,
    UNK_ID,
    Vocabulary,
    split_tokens,
    split_words,
)

__all__ = [
    "BOS",
    "CONLLU_COLUMNS",
    "DataFormatError",
    "Document",
    "EOS",
    "PAD",
    "PAD_ID",
    "Pair",
    "TaggedSentence",
    "UNK",
    "UNK_ID",
    "UPOS_TAGS",
    "Vocabulary",
    "bucket_batch",
    "documents_dataset",
    "email_text",
    "html_to_text",
    "iob2_to_bioes",
    "iter_lines",
    "lm_windows",
    "load_conll2003",
    "load_imdb_reviews",
    "load_ted_hrlr",
    "load_tiny_shakespeare",
    "max_length",
    "pairs_dataset",
    "read_conllu",
    "read_csv_documents",
    "read_iob2",
    "read_jsonl_documents",
    "read_spamassassin",
    "read_text",
    "read_tsv_pairs",
    "sentence_lm_dataset",
    "spamassassin_label",
    "split_sentences",
    "split_tokens",
    "split_words",
    "stream_tokens",
    "tagging_dataset",
    "text_dataset",
    "text_from_dataset",
]
