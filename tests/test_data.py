"""rnnzoo.data: readers on committed slices of the real corpora, errors, vocabularies, batching."""

import json
import logging
import re
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnzoo import data as rd

DATA = Path(__file__).parent / "data"
AUSTEN = DATA / "austen_emma_slice.txt"
CONLLU = DATA / "en_ewt_slice.conllu"
UNER = DATA / "uner_en_ewt_slice.iob2"
BIBLE = DATA / "kjv_rv1909_slice.tsv"
SPAM = DATA / "spamassassin"
UNER_COLUMNS = dict(token_column=1, tag_column=2)

CONLLU_LINE = "1\tFrom\tfrom\tADP\tIN\t_\t3\tcase\t3:case\t_"


def write(path, lines, ending="\n"):
    encoded = (line if isinstance(line, bytes) else line.encode() for line in lines)
    path.write_bytes(b"".join(line + ending.encode() for line in encoded))
    return path


def expect_error(path, line, read):
    with pytest.raises(rd.DataFormatError) as excinfo:
        read(path)
    assert excinfo.value.path == str(path) and excinfo.value.line == line
    assert str(excinfo.value).startswith(f"{path}:{line}: ")
    return str(excinfo.value)


# --- text: BPTT windows and sentences -------------------------------------------------------


def windows(ids, batch_size, bptt):
    return [(x.numpy(), y.numpy()) for x, y in rd.lm_windows(ids, batch_size, bptt)]


def test_bptt_rows_continue_the_same_lane():
    ids = np.arange(100)
    batches = windows(ids, batch_size=3, bptt=5)
    lane = 99 // 3
    assert len(batches) == lane // 5
    for x, y in batches:
        assert x.shape == y.shape == (3, 5) and x.dtype == np.int64
        np.testing.assert_array_equal(y, x + 1)
    for (x0, _), (x1, _) in zip(batches, batches[1:]):
        np.testing.assert_array_equal(x1[:, 0], x0[:, -1] + 1)
    np.testing.assert_array_equal(batches[0][0][:, 0], [0, lane, 2 * lane])


@settings(max_examples=25, deadline=None)
@given(
    ids=st.lists(st.integers(0, 50), min_size=2, max_size=120),
    batch_size=st.integers(1, 5),
    bptt=st.integers(1, 9),
)
def test_bptt_windows_reassemble_the_stream(ids, batch_size, bptt):
    lane = (len(ids) - 1) // batch_size
    if lane < bptt:
        with pytest.raises(ValueError, match="too short"):
            rd.lm_windows(ids, batch_size, bptt)
        return
    batches = windows(ids, batch_size, bptt)
    x = np.concatenate([b[0] for b in batches], axis=1)
    y = np.concatenate([b[1] for b in batches], axis=1)
    stream = np.array(ids)
    for b in range(batch_size):
        start = b * lane
        np.testing.assert_array_equal(x[b], stream[start : start + x.shape[1]])
        np.testing.assert_array_equal(y[b], stream[start + 1 : start + 1 + x.shape[1]])


def test_stream_tokens_and_sentences_of_austen():
    text = rd.read_text(AUSTEN)
    assert rd.stream_tokens(text, "char") == list(text)
    words = rd.stream_tokens("a b\n\nc\n", "word", line_end=rd.EOS)
    assert words == ["a", "b", rd.EOS, "c", rd.EOS]
    with pytest.raises(ValueError, match="line_end"):
        rd.stream_tokens(text, "char", line_end=rd.EOS)


# --- CoNLL-U and IOB2 -----------------------------------------------------------------------


def test_conllu_slice_skips_ranges_and_empty_nodes(caplog):
    with caplog.at_level(logging.INFO):
        sentences = rd.read_conllu(CONLLU)
    assert [len(s.tokens) for s in sentences] == [7, 19, 29, 31, 22]
    assert sentences[0].tokens == ["From", "the", "AP", "comes", "this", "story", ":"]
    assert sentences[0].tags == ["ADP", "DET", "PROPN", "VERB", "DET", "NOUN", "PUNCT"]
    assert "didn't" not in sentences[3].tokens and ["did", "n't"] == sentences[3].tokens[28:30]
    assert "1 multiword-token lines and 1 empty nodes" in caplog.text
    assert rd.read_conllu(CONLLU, column="xpos")[0].tags[0] == "IN"
    with pytest.raises(ValueError, match="column"):
        rd.read_conllu(CONLLU, column="pos")


@pytest.mark.parametrize(
    "lines, line, message",
    [
        (["# c", CONLLU_LINE, "2\tthe\tthe\tDET\tDT\t_\t3"], 3, "10 tab-separated columns, got 7"),
        ([CONLLU_LINE, "", "1\tthe\tthe\t_\tDT\t_\t3\tdet\t3:det\t_"], 3, "missing upos"),
        (
            [CONLLU_LINE, "2\tthe\tthe\tDETERMINER\tDT\t_\t3\tdet\t3:det\t_"],
            2,
            "unknown upos tag 'DETERMINER'",
        ),
        ([CONLLU_LINE, "x\tthe\tthe\tDET\tDT\t_\t3\tdet\t3:det\t_"], 2, "bad ID"),
        ([CONLLU_LINE, b"2\tth\xe9\tthe\tDET\tDT\t_\t3\tdet\t3:det\t_"], 2, "invalid UTF-8"),
    ],
)
def test_conllu_errors_name_file_and_line(tmp_path, lines, line, message):
    path = write(tmp_path / "bad.conllu", lines)
    assert message in expect_error(path, line, rd.read_conllu)


def test_iob2_slice_of_uner_ignores_extra_columns():
    sentences = rd.read_iob2(UNER, **UNER_COLUMNS, entity_types={"PER", "ORG", "LOC"})
    assert len(sentences) == 6 and sum(len(s.tokens) for s in sentences) == 128
    bush = sentences[4]
    assert bush.tokens[:2] == ["President", "Bush"] and bush.tags[:2] == ["O", "B-PER"]
    assert all(len(s.tokens) == len(s.tags) for s in sentences)
    tags = {tag for s in sentences for tag in s.tags}
    assert tags == {"O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"}


def test_conll2003_style_with_docstart(tmp_path, caplog):
    path = write(
        tmp_path / "train.txt",
        ["-DOCSTART- -X- -X- O", "", "EU NNP B-NP B-ORG", "rejects VBZ B-VP O", "German JJ B-NP B-MISC",
         "", "Peter NNP B-NP B-PER", "Blackburn NNP I-NP I-PER"],
    )
    with caplog.at_level(logging.INFO):
        sentences = rd.read_iob2(path, tag_column=3)
    assert sentences == [
        rd.TaggedSentence(["EU", "rejects", "German"], ["B-ORG", "O", "B-MISC"]),
        rd.TaggedSentence(["Peter", "Blackburn"], ["B-PER", "I-PER"]),
    ]
    assert "1 -DOCSTART- lines" in caplog.text


@pytest.mark.parametrize(
    "lines, line, message",
    [
        (["# sent_id = 1", "1\tBush\tB-PER\t-\t-", "2\tsaid"], 3, "expected at least 3 columns"),
        (["1\tBush\tB-PER", "2\tsaid\tVERB"], 2, "unknown tag 'VERB'"),
        (["1\tBush\tB-PER", "2\tsaid\tB-"], 2, "unknown tag 'B-'"),
        (["1\tthe\tO", "2\tBush\tI-PER"], 2, "continues no PER entity"),
        (["1\tBush\tB-PER", "", "2\tBush\tI-PER"], 3, "continues no PER entity"),
        (["1\tBush\tB-PERSON"], 1, "unknown entity type 'PERSON'"),
        ([b"1\tB\xc3\tO"], 1, "invalid UTF-8"),
    ],
)
def test_iob2_errors_name_file_and_line(tmp_path, lines, line, message):
    path = write(tmp_path / "bad.iob2", lines)
    read = lambda p: rd.read_iob2(p, **UNER_COLUMNS, entity_types={"PER", "ORG", "LOC"})  # noqa: E731
    assert message in expect_error(path, line, read)


def test_iob2_to_bioes():
    tags = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "I-LOC", "O", "B-ORG"]
    assert rd.iob2_to_bioes(tags) == ["B-PER", "E-PER", "O", "S-LOC", "B-LOC", "I-LOC", "E-LOC", "O", "S-ORG"]
    assert rd.iob2_to_bioes([]) == []
    with pytest.raises(ValueError, match="tag 1"):
        rd.iob2_to_bioes(["O", "I-PER"])
    with pytest.raises(ValueError, match=r"tag 0 \('I-PER' after 'O'\) is not valid IOB2"):
        rd.iob2_to_bioes(["I-PER", "B-PER"])
    with pytest.raises(ValueError, match="tag 0"):
        rd.iob2_to_bioes(["I-PER"])


@given(st.lists(st.tuples(st.integers(0, 2), st.sampled_from(["PER", "LOC"]), st.integers(1, 3)), max_size=8))
def test_bioes_maps_back_to_iob2(spans):
    tags = []
    for gap, kind, length in spans:
        tags += ["O"] * gap + [f"B-{kind}"] + [f"I-{kind}"] * (length - 1)
    bioes = rd.iob2_to_bioes(tags)
    back = [{"S": "B", "E": "I"}.get(t[0], t[0]) + t[1:] for t in bioes]
    assert back == tags
    assert sum(t[0] in "SE" for t in bioes) == len(spans)


# --- documents and e-mail -------------------------------------------------------------------


def test_spamassassin_emails_lose_headers_and_html():
    documents = rd.read_spamassassin(SPAM)
    assert [d.label for d in documents] == ["ham", "ham", "spam"]
    plain, html, multipart = (d.text for d in documents)
    assert plain.startswith("If the frequency of my laptop's disk chirps") and plain.endswith("Skip")
    assert html.startswith("It took me a week to get down to this;\nThe towering pine and the hemlock.")
    assert "<" not in html and "href" not in html
    assert "My name is Danny Creech." in multipart and "<" not in multipart
    assert multipart.count("My name is Danny Creech.") == 1
    for text in (plain, html, multipart):
        assert "Return-Path" not in text and "Received:" not in text
    assert rd.read_spamassassin(sorted(SPAM.glob("spam-*/*.json")))[0].label == "spam"


def test_email_html_only_is_stripped():
    raw = (
        "Subject: hi\nContent-Type: multipart/alternative; boundary=XX\n\n--XX\n"
        "Content-Type: text/html; charset=utf-8\n\n<html><head><style>p {x: 1}</style></head>"
        "<body><p>Caf&eacute; &amp; <b>tea</b></p><script>alert(1)</script><p>Bye</p></body></html>\n--XX--\n"
    )
    assert rd.email_text(raw) == "Café & tea\n\nBye"
    assert rd.email_text(raw, with_subject=True) == "hi\n\nCafé & tea\n\nBye"
    assert rd.email_text("\n\nno headers", with_subject=True) == "no headers"


def test_spamassassin_errors_name_the_file(tmp_path):
    (tmp_path / "ham-1").mkdir()
    bad_json = tmp_path / "ham-1" / "a.json"
    bad_json.write_text('{"id": "a",\n "group": "easy-ham-1",\n "text": }')
    assert "invalid JSON" in expect_error(bad_json, 3, lambda p: rd.read_spamassassin([p]))
    bad_group = tmp_path / "ham-1" / "b.json"
    bad_group.write_text(json.dumps({"id": "b", "group": "eggs", "text": "x"}))
    message = expect_error(bad_group, 1, lambda p: rd.read_spamassassin([p]))
    assert "unknown SpamAssassin group 'eggs'" in message


def test_csv_and_jsonl_documents(tmp_path):
    csv_path = write(tmp_path / "docs.csv", ['id,text,label', '1,"two\nlines, quoted",pos', "2,plain,neg"])
    documents = rd.read_csv_documents(csv_path)
    assert documents == [rd.Document("two\nlines, quoted", "pos"), rd.Document("plain", "neg")]
    records = [json.dumps({"body": "é", "y": 1}), "", json.dumps({"body": "b", "y": 0})]
    jsonl_path = write(tmp_path / "docs.jsonl", records)
    assert rd.read_jsonl_documents(jsonl_path, text_key="body", label_key="y") == [
        rd.Document("é", "1"),
        rd.Document("b", "0"),
    ]


@pytest.mark.parametrize(
    "name, lines, line, message",
    [
        ("d.csv", ["text,label", "a,pos", '"b\nc",neg,extra'], 4, "expected 2 columns, got 3"),
        ("d.csv", ["text,label", "a,pos", b"\xff,neg"], 3, "invalid UTF-8"),
        ("d.csv", ["body,label", "a,pos"], 1, "no column 'text'"),
        ("d.jsonl", ['{"text": "a", "label": "x"}', '{"text": "b"'], 2, "invalid JSON"),
        ("d.jsonl", ['{"text": "a", "label": "x"}', '{"text": "b"}'], 2, "keys 'text' and 'label'"),
        ("d.jsonl", ['{"text": "a", "label": ""}'], 1, "missing label"),
    ],
)
def test_document_errors_name_file_and_line(tmp_path, name, lines, line, message):
    path = write(tmp_path / name, lines)
    read = rd.read_csv_documents if name.endswith(".csv") else rd.read_jsonl_documents
    assert message in expect_error(path, line, read)


# --- vocabularies ---------------------------------------------------------------------------


def test_vocab_reserved_ids_counts_and_limits(caplog):
    tokens = "b a c a b a d <eos> <unk>".split()
    with caplog.at_level(logging.INFO):
        vocab = rd.Vocabulary.build(tokens, min_count=2)
    assert vocab.tokens == [rd.PAD, rd.UNK, rd.BOS, rd.EOS, "a", "b"]
    assert (rd.PAD_ID, rd.UNK_ID, vocab.bos_id, vocab.eos_id) == (0, 1, 2, 3)
    assert "2 seen fewer than min_count=2 times" in caplog.text
    assert rd.Vocabulary.build(tokens, max_size=5).tokens[4:] == ["a"]
    tags = rd.Vocabulary.build(["O", "B-PER", "O"], specials=())
    assert tags.tokens == [rd.PAD, rd.UNK, "O", "B-PER"]
    with pytest.raises(ValueError, match="no '<bos>'"):
        tags.encode(["O"], add_bos=True)
    with pytest.raises(ValueError, match="max_size"):
        rd.Vocabulary.build(tokens, max_size=3)


def test_vocab_save_load_round_trip(tmp_path):
    text = "Tab\there,\nback\\slash \r and ünïcödé.\n"
    vocab = rd.Vocabulary.build(rd.stream_tokens(text, "char"), "char")
    path = tmp_path / "vocab.txt"
    vocab.save(path)
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[:4] == [rd.PAD, rd.UNK, rd.BOS, rd.EOS] and lines[-1] == ""
    assert len(lines) == len(vocab) + 1 and "\\n" in lines and "\\t" in lines and "\\\\" in lines
    loaded = rd.Vocabulary.load(path, "char")
    assert loaded.tokens == vocab.tokens and len(loaded) == len(vocab)
    np.testing.assert_array_equal(loaded.encode([text]), vocab.encode([text]))


@pytest.mark.parametrize(
    "lines, line, message",
    [
        (["<pad>", "<unk>", "a", "\\x"], 4, "unknown escape"),
        (["<pad>", "<unk>", "a", "b", "a"], 5, "repeats line 3"),
        (["<unk>", "<pad>"], 1, "expected '<pad>'"),
        (["<pad>", "<unk>", ""], 3, "empty token"),
        (["<pad>", "<unk>", b"\xc3("], 3, "invalid UTF-8"),
        (["<pad>"], 2, "a vocabulary starts with '<pad>', '<unk>'"),
        ([], 1, "a vocabulary starts with '<pad>', '<unk>'"),
    ],
)
def test_vocab_file_errors_name_file_and_line(tmp_path, lines, line, message):
    path = write(tmp_path / "vocab.txt", lines)
    assert message in expect_error(path, line, rd.Vocabulary.load)


def test_max_size_may_hold_the_reserved_tokens_alone_and_no_fewer():
    tokens = "a b b c c c".split()
    assert rd.Vocabulary.build(tokens, max_size=4).tokens == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert rd.Vocabulary.build(tokens, max_size=5).tokens[4:] == ["c"]
    with pytest.raises(ValueError, match="max_size must be >= 4"):
        rd.Vocabulary.build(tokens, max_size=3)


def test_build_logs_what_min_count_and_max_size_left_out(caplog):
    with caplog.at_level(logging.INFO, logger="rnnzoo.data.vocab"):
        rd.Vocabulary.build("a b b c c c d d d d e".split(), min_count=2, max_size=6)
    assert ("vocabulary: 2 of 5 token types kept; 2 seen fewer than min_count=2 times, "
            "1 beyond max_size=6") in caplog.text


def test_text_to_ids_is_pure_graph_and_exports(tmp_path):
    vocab = rd.Vocabulary.build("the cat sat on the mat".split())

    class Export(tf.Module):
        def __init__(self):
            super().__init__()
            self.lookup = vocab.layer
            self.encode = tf.function(
                lambda texts: vocab.encode(texts, add_bos=True, add_eos=True),
                input_signature=[tf.TensorSpec([None], tf.string)],
            )

    module = Export()
    graph = module.encode.get_concrete_function().graph
    op_types = {op.type for op in graph.get_operations()}
    assert "LookupTableFindV2" in op_types and not op_types & {"PyFunc", "EagerPyFunc", "PyFuncStateless"}
    tf.saved_model.save(module, str(tmp_path / "encoder"))
    restored = tf.saved_model.load(str(tmp_path / "encoder"))
    ids = restored.encode(tf.constant(["the cat", "a dog sat on it"])).numpy()
    the, cat, sat, on = vocab.ids(["the", "cat", "sat", "on"])
    assert ids.tolist() == [[2, the, cat, 3, 0, 0, 0], [2, 1, 1, sat, on, 1, 3]]
    dataset = tf.data.Dataset.from_tensor_slices(["the mat", "cat"]).batch(2).map(vocab.encode)
    assert next(iter(dataset)).numpy().tolist() == [[the, vocab.ids(["mat"])[0]], [cat, 0]]
    assert vocab.decode(ids).numpy().tolist() == [b"the cat", b"<unk> <unk> sat on <unk>"]


WORD_VOCAB = rd.Vocabulary.build("a b é 日本 <pad>".split(), "word")
CHAR_VOCAB = rd.Vocabulary.build(list("ab é\n"), "char")


@tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
def _encode_both(texts):
    return WORD_VOCAB.encode(texts), CHAR_VOCAB.encode(texts)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(st.characters(codec="utf-8"), max_size=12), min_size=1, max_size=4))
def test_lookup_of_arbitrary_unicode_maps_unknowns_to_unk(texts):
    words, chars = (ids.numpy() for ids in _encode_both(tf.constant(texts)))
    for row, char_row, text in zip(words, chars, texts):
        expected_words = WORD_VOCAB.ids(re.findall(r"[^ \t\n\r\f\v]+", text))
        expected_chars = CHAR_VOCAB.ids(list(text))
        np.testing.assert_array_equal(row[: len(expected_words)], expected_words)
        np.testing.assert_array_equal(char_row[: len(expected_chars)], expected_chars)
        assert not row[len(expected_words) :].any() and not char_row[len(expected_chars) :].any()
        assert (expected_words > 0).all() and (expected_chars > 0).all()
    assert WORD_VOCAB.ids(["<pad>", "zzz"]).tolist() == [rd.UNK_ID, rd.UNK_ID]


# --- batching -------------------------------------------------------------------------------


def test_bucketing_pads_with_zero_so_masks_are_ids_not_zero():
    sentences = rd.read_conllu(CONLLU) + rd.read_iob2(UNER, **UNER_COLUMNS)
    words = rd.Vocabulary.build((t for s in sentences for t in s.tokens), specials=())
    tags = rd.Vocabulary.build((t for s in sentences for t in s.tags), specials=())
    ids = tf.data.Dataset.from_generator(
        lambda: ((words.ids(s.tokens), tags.ids(s.tags)) for s in sentences),
        output_signature=(tf.TensorSpec([None], tf.int64), tf.TensorSpec([None], tf.int64)))
    boundaries = [10, 25]
    batches = list(rd.bucket_batch(ids, batch_size=3, boundaries=boundaries))
    lengths = []
    for x, y in batches:
        assert x.shape == y.shape and x.shape[0] <= 3
        mask = x.numpy() != 0
        row_lengths = mask.sum(axis=1)
        np.testing.assert_array_equal(mask, np.arange(x.shape[1])[None, :] < row_lengths[:, None])
        np.testing.assert_array_equal(mask, y.numpy() != 0)
        buckets = np.searchsorted(boundaries, row_lengths, side="right")
        assert len(set(buckets)) == 1 and x.shape[1] == row_lengths.max()
        lengths += row_lengths.tolist()
    assert sorted(lengths) == sorted(len(s.tokens) for s in sentences)
    with pytest.raises(ValueError, match="boundaries"):
        rd.bucket_batch(ids, 3, [25, 10])


def test_bucketing_lm_sentences_by_custom_length():
    vocab = rd.Vocabulary.build(rd.stream_tokens(rd.read_text(AUSTEN), "word"))
    lines = rd.token_lists([line for line in rd.read_text(AUSTEN).splitlines() if line.strip()],
                           "word")
    examples = tf.data.Dataset.from_generator(
        lambda: ((vocab.ids(line),) * 2 for line in lines),
        output_signature=(tf.TensorSpec([None], tf.int64), tf.TensorSpec([None], tf.int64)))
    batched = rd.bucket_batch(examples, 4, [8, 32], length=lambda xy: tf.size(xy[0]))
    total = sum(int(tf.reduce_sum(tf.cast(x != 0, tf.int32))) for x, _ in batched)
    assert total == sum(len(line) for line in lines)


# --- TFDS loaders (offline: tfds.testing.mock_data) -----------------------------------------


EWT_SLICE = Path(__file__).parent / "data" / "en_ewt_slice.conllu"


def test_conllu_texts_keeps_the_sentences_whose_id_has_the_prefix():
    from rnnzoo.data import conllu_texts

    every = conllu_texts(EWT_SLICE)
    assert len(every) == 5
    assert every[0] == "From the AP comes this story :"
    assert every[-1].startswith("I would really love to hear what the French")
    assert conllu_texts(EWT_SLICE, "weblog") == every[:4]
    assert conllu_texts(EWT_SLICE, "answers-20111108082831AAco5PI_ans-0002") == every[-1:]
    with pytest.raises(ValueError, match="no sentence text whose sent_id starts with 'email'"):
        conllu_texts(EWT_SLICE, "email")


def test_conllu_texts_refuses_a_text_before_any_sent_id(tmp_path):
    from rnnzoo.data import DataFormatError, conllu_texts

    path = tmp_path / "x.conllu"
    path.write_text("# sent_id = a-1\n# text = fine\n1\tfine\n\n# text = orphan\n")
    assert conllu_texts(path) == ["fine", "orphan"]
    with pytest.raises(DataFormatError, match=r"x.conllu:5: a text comment before any sent_id"):
        conllu_texts(path, "a")
