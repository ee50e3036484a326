"""Property-based tests: arbitrary Unicode into the shipped models and into the CLI's task
commands. Only the documented exceptions escape, and each answer keeps its documented shape:
a string per prompt, one tag per token, one translation per source, probabilities summing to 1.
"""

import functools
import json
import math

import click
import pytest
from click.testing import CliRunner
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

import rnnzoo
from rnnzoo.cli import main
from rnnzoo.data.text import ud_tokens
from rnnzoo.tasks.base import MAX_INPUT_TOKENS
from rnnzoo.tasks.seq2seq.preprocessing import tokenize as seq2seq_tokens
from rnnzoo.zoo import load

TEXT = st.text(max_size=60)
"""Any code points but lone surrogates (which no UTF-8 text holds), newlines included."""
SHORT = st.text(max_size=25)
TOKENS = st.lists(st.text(max_size=6), min_size=1, max_size=6)
FUZZ = settings(max_examples=50, deadline=None)
CLI_FUZZ = settings(max_examples=25, deadline=None)
ENTITY_TYPES = {"PER", "ORG", "LOC"}


@functools.cache
def shipped(name: str):
    """A shipped model, loaded once for the whole module."""
    return load(name)


@pytest.fixture(scope="module", autouse=True)
def cached_load():
    """The CLI's commands get the module's loaded models (loading is tested elsewhere)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rnnzoo.zoo, "load", shipped)
        yield


def run(*args):
    return CliRunner().invoke(main, list(args))


@FUZZ
@given(TEXT)
@example("a" * (MAX_INPUT_TOKENS + 5))
def test_generate_continues_any_prompt_with_a_string(prompt):
    lm = shipped("rnn-lm")
    generated = lm.generate(prompt, max_tokens=3, temperature=0.8, seed=1)
    assert isinstance(generated, str)
    assert lm.continuation(prompt, max_tokens=3, temperature=0.8, seed=1) == prompt + generated


@FUZZ
@given(TEXT)
@example("")
def test_perplexity_of_any_text_is_at_least_one(text):
    lm = shipped("rnn-lm")
    if not text:
        with pytest.raises(ValueError, match="perplexity needs at least one token"):
            lm.perplexity(text)
        return
    score = lm.perplexity(text)
    assert math.isfinite(score) and score >= 1


@FUZZ
@given(TEXT)
@example("a " * (MAX_INPUT_TOKENS + 1))
@example("\u2028\x1c\x85")
def test_tag_gives_one_tag_per_token(text):
    pos = shipped("bilstm-crf-pos")
    tokens = text.split()
    if not tokens:
        with pytest.raises(ValueError, match="nothing to tag"):
            pos.tag(text)
        return
    pairs = pos.tag(text)
    assert [token for token, _ in pairs] == tokens[:MAX_INPUT_TOKENS]
    assert {tag for _, tag in pairs} <= set(pos.vocabs.tag_names)


@FUZZ
@given(TOKENS)
@example([""])
@example([" ", "\t"])
def test_tag_given_tokens_tags_each_or_refuses_an_empty_one(tokens):
    pos = shipped("bilstm-crf-pos")
    if "" in tokens:
        with pytest.raises(ValueError, match="empty token"):
            pos.tag(tokens)
        return
    assert [token for token, _ in pos.tag(tokens)] == tokens


def valid_iob2(tags: list[str]) -> bool:
    return all(not tag.startswith("I-") or (k > 0 and tags[k - 1] in (f"B-{tag[2:]}", tag))
               for k, tag in enumerate(tags))


@FUZZ
@given(TEXT)
@example("German Chancellor Olaf Scholz met Bank officials in Frankfurt .")
@example("Bank")
def test_ner_tags_are_always_a_valid_iob2_sequence(text):
    ner = shipped("bilstm-crf-ner")
    assume(text.split())
    assert valid_iob2([tag for _, tag in ner.tag(text)])


@FUZZ
@given(TEXT)
def test_entities_are_ordered_spans_of_the_tokens(text):
    ner = shipped("bilstm-crf-ner")
    tokens = text.split()
    assume(tokens)
    end_of_last = 0
    for span, kind, start, end in ner.entities(text):
        assert end_of_last <= start < end <= len(tokens)
        assert span == " ".join(tokens[start:end]) and kind in ENTITY_TYPES
        end_of_last = end


@pytest.mark.slow
@FUZZ
@given(st.lists(TEXT, min_size=1, max_size=4))
def test_classify_gives_probabilities_summing_to_one(texts):
    spam = shipped("bilstm-spam")
    probabilities = spam.probabilities(texts)
    assert probabilities.shape == (len(texts), len(spam.labels))
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    assert abs(probabilities.sum(axis=1) - 1).max() < 1e-5
    answers = spam.classify(texts)
    assert [label for label, _ in answers] == [spam.labels[k] for k in probabilities.argmax(1)]


@pytest.mark.slow
@FUZZ
@given(st.lists(SHORT, min_size=1, max_size=3))
@example(["Else", "0{"])
def test_translate_gives_one_translation_per_source(sources):
    """One translation per source; the longest source's equals its translation alone (a
    shorter one may run longer in the batch: the decode-length cap, 2 × the batch's longest
    source + 10, is the batch's)."""
    translator = shipped("lstm-seq2seq-en-es")
    translations = translator.translate(sources, beam_size=1)
    assert len(translations) == len(sources)
    assert all(isinstance(t, str) and "\n" not in t for t in translations)
    lengths = [len(tokens) for tokens in seq2seq_tokens(sources)]
    longest = max(range(len(sources)), key=lambda i: lengths[i])
    assert translator.translate(sources[longest], beam_size=1) == translations[longest]


@CLI_FUZZ
@given(SHORT)
@example("-0")
@example("\r\n")
def test_cli_generate_prints_the_continuation(prompt):
    assume(prompt != "-")
    result = run("generate", "rnn-lm", "--max-tokens", "2", "--temperature", "0", "--", prompt)
    assert result.exit_code == 0, result.output
    expected = shipped("rnn-lm").continuation(prompt, max_tokens=2, temperature=0)
    # Result.stdout would turn "\r\n" into "\n": the bytes are what the CLI printed.
    assert result.stdout_bytes.decode() == click.unstyle(expected) + "\n"


@CLI_FUZZ
@given(TEXT)
def test_cli_tag_prints_one_tag_per_token(text):
    assume(text != "-")
    result = run("tag", "bilstm-crf-pos", "--json", "--", text)
    assert result.exit_code == 0, result.output
    pairs = json.loads(result.stdout)
    assert [p["token"] for p in pairs] == ud_tokens(text)[:MAX_INPUT_TOKENS]
    pretokenized = json.loads(run("tag", "bilstm-crf-pos", "--json", "--pretokenized", "--",
                                  text).stdout)
    assert [p["token"] for p in pretokenized] == text.split()[:MAX_INPUT_TOKENS]


@CLI_FUZZ
@given(TEXT)
def test_cli_classify_prints_probabilities_summing_to_one(text):
    assume(text != "-")
    result = run("classify", "bilstm-spam", "--json", "--", text)
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["label"] in answer["probabilities"]
    assert abs(sum(answer["probabilities"].values()) - 1) < 1e-5


@CLI_FUZZ
@given(SHORT)
def test_cli_translate_prints_one_line(text):
    assume(text != "-")
    result = run("translate", "lstm-seq2seq-en-es", "--beam-size", "1", "--", text)
    assert result.exit_code == 0, result.output
    expected = shipped("lstm-seq2seq-en-es").translate(text, beam_size=1)
    assert result.stdout == click.unstyle(expected) + "\n"
