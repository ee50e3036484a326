"""The console entry point: --version, --help, and the task commands."""

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import rnnzoo
from rnnzoo.cli import main


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"rnnzoo, version {rnnzoo.__version__}"


ROOT = Path(__file__).resolve().parents[1]
NEEDS_LARGE_DATA = ("publish",)
"""Commands whose example needs the corpora (``--data-dir``) or a finished training run."""
RUN_ELSEWHERE = ("tune",)
"""Commands whose example runs in a test of its own (tests/test_tune.py)."""


def example(command: list[str]) -> list[str]:
    """The argument list of the example in ``rnnzoo COMMAND --help``."""
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    at = lines.index("  Example:") + 1
    line = lines[at].strip()
    while line.endswith("\\"):
        at += 1
        line = line[:-1] + lines[at].strip()
    assert line.startswith("rnnzoo "), line
    return shlex.split(line)[1:]


def test_help_shows_an_example():
    assert example([]) == ["--version"]


@pytest.mark.parametrize("command", sorted(main.commands))
def test_each_commands_help_example_works(command, tmp_path, monkeypatch):
    args = example([command])
    assert args[0] == command
    if command in NEEDS_LARGE_DATA + RUN_ELSEWHERE:
        pytest.skip(f"the {command} example needs the corpora or runs in its own test")
    monkeypatch.chdir(ROOT)
    args = [a.replace("/tmp/", f"{tmp_path}/") for a in args]
    result = CliRunner().invoke(main, [*args, *(["--verbose", "0"] if command in (
        "train", "finetune") else [])])
    assert result.exit_code == 0, result.output
    assert result.output.strip()


LIGHT = """
import sys
from rnnzoo.cli import main
try:
    main({args!r})
except SystemExit as end:
    assert end.code in (0, None), end.code
print("tensorflow" in sys.modules, "keras" in sys.modules)
"""


@pytest.mark.parametrize("args", [["--help"], ["list"], ["info", "rnn-lm", "--json"],
                                  ["train", "--help"], ["generate", "--help"]])
def test_commands_that_run_no_model_do_not_import_tensorflow(args):
    result = subprocess.run([sys.executable, "-c", LIGHT.format(args=args)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-2:] == ["False", "False"], result.stdout[-500:]


def test_console_script_is_installed():
    bindir = Path(sys.executable).parent
    result = subprocess.run([str(bindir / "rnnzoo"), "--version"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert rnnzoo.__version__ in result.stdout


@pytest.mark.slow
def test_the_console_script_prints_no_tensorflow_log_lines_unless_debug():
    script = str(Path(sys.executable).parent / "rnnzoo")
    quiet = subprocess.run([script, "generate", "rnn-lm", "It is", "--max-tokens", "5"],
                           capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0 and quiet.stdout.strip().startswith("It is")
    assert quiet.stderr == ""
    failed = subprocess.run([script, "generate", "rnn-lmm", "It is"], capture_output=True,
                            text=True, timeout=300)
    assert failed.returncode == 1
    assert failed.stderr.startswith("rnnzoo: error: unknown model 'rnn-lmm'")
    loud = subprocess.run([script, "--debug", "generate", "rnn-lm", "It is", "--max-tokens",
                           "5"], capture_output=True, text=True, timeout=300)
    assert loud.returncode == 0 and loud.stdout == quiet.stdout


def run(*args, stdin=None):
    return CliRunner().invoke(main, list(args), input=stdin)


@pytest.mark.slow
def test_tag_translate_classify_answer_as_the_task_objects():
    import rnnzoo

    tagged = run("tag", "bilstm-crf-pos", "Mary works for Google in London .")
    assert tagged.exit_code == 0, tagged.output
    expected = rnnzoo.load("bilstm-crf-pos").tag("Mary works for Google in London .")
    assert tagged.output.strip() == " ".join(f"{t}/{g}" for t, g in expected)
    spans = run("tag", "bilstm-crf-ner", "-", "--entities", "--json",
                stdin="Mary works for Google in London .\n\n")
    lines = spans.output.strip().split("\n")
    assert [json.loads(line) for line in lines][1] == []
    assert json.loads(lines[0]) == [
        {"text": t, "type": k, "start": a, "end": b}
        for t, k, a, b in rnnzoo.load("bilstm-crf-ner").entities("Mary works for Google in London .")]
    sources = "In the beginning God created the heaven.\nAnd God said, Let there be light.\n"
    translated = run("translate", "lstm-seq2seq-en-es", "-", "--beam-size", "2", stdin=sources)
    assert translated.output.splitlines() == rnnzoo.load("lstm-seq2seq-en-es").translate(
        sources.splitlines(), beam_size=2)
    classified = run("classify", "bilstm-spam", "Win a free cruise now", "--json")
    answer = json.loads(classified.output)
    label, probability = rnnzoo.load("bilstm-spam").classify("Win a free cruise now")
    assert (answer["label"], answer["probability"]) == (label, probability)
    assert abs(sum(answer["probabilities"].values()) - 1) < 1e-5


@pytest.mark.parametrize("args, code, message", [
    (("tag", "bilstm-spam", "hello"), 2, "bilstm-spam is a classifier model; it cannot tag"),
    (("classify", "no-such-model", "hi"), 1, "rnnzoo: error:"),
    (("translate", "lstm-seq2seq-en-es", "x", "--beam-size", "0"), 2, "--beam-size"),
])
def test_task_commands_refuse_bad_input(args, code, message):
    result = run(*args)
    assert result.exit_code == code and message in result.output, result.output


def test_generate_leaves_unk_out_unless_allowed():
    args = ["generate", "lstm-lm", "the company said", "--max-tokens", "300", "--seed", "0"]
    default, allowed = run(*args), run(*args, "--allow-unk")
    assert default.exit_code == 0 and allowed.exit_code == 0, default.output + allowed.output
    assert "<unk>" not in default.output
    assert allowed.output.split().count("<unk>") >= 5


@pytest.mark.slow
def test_generate_streams_and_stops_on_ctrl_c_keeping_what_it_printed():
    import os
    import signal
    import time

    script = str(Path(sys.executable).parent / "rnnzoo")
    process = subprocess.Popen([script, "generate", "rnn-lm", "It is", "--max-tokens", "100000"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    first = b""
    deadline = time.monotonic() + 120
    while len(first) < 40:  # the prompt, then some generated text
        assert time.monotonic() < deadline and process.poll() is None, first
        first += os.read(process.stdout.fileno(), 64)
    assert first.startswith(b"It is"), first
    process.send_signal(signal.SIGINT)
    rest, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err.decode().strip() == "rnnzoo: interrupted"
    printed = (first + rest).decode()
    assert printed.endswith("\n") and len(printed) >= 40


def test_generate_refuses_more_than_the_documented_tokens():
    from rnnzoo.cli import MAX_GENERATED_TOKENS

    assert run("generate", "rnn-lm", "It", "--max-tokens", MAX_GENERATED_TOKENS + 1).exit_code == 2
    assert "0<=x<=100000" in run("generate", "rnn-lm", "It", "--max-tokens", "100001").output


def test_generate_streams_the_same_text_as_the_api():
    lm = rnnzoo.load("lstm-lm")
    result = run("generate", "lstm-lm", "The Company said", "--max-tokens", "40", "--seed", "3")
    assert result.exit_code == 0
    assert result.stdout == lm.continuation("The Company said", max_tokens=40, seed=3) + "\n"
    assert lm.unknown_words("Tesla rose 12%") == ["tesla"]
    assert lm.normalise("Tesla rose 12% to $4.5") == "tesla rose N N to $ N"
    assert "does not know 1 prompt word(s), read as <unk>: tesla" in run(
        "generate", "lstm-lm", "Tesla rose", "--max-tokens", "3").stderr


def test_tag_splits_punctuation_off_as_ud_does_and_finds_the_location():
    result = run("tag", "bilstm-crf-ner", "We flew to Berlin.", "--json")
    assert result.exit_code == 0, result.output
    pairs = json.loads(result.stdout)
    assert [p["token"] for p in pairs] == ["We", "flew", "to", "Berlin", "."]
    assert {p["token"]: p["tag"] for p in pairs}["Berlin"] == "B-LOC"
    assert all(isinstance(p["known"], bool) for p in pairs)
    raw = json.loads(run("tag", "bilstm-crf-ner", "We flew to Berlin.", "--json",
                         "--pretokenized").stdout)
    assert [p["token"] for p in raw] == ["We", "flew", "to", "Berlin."]


def test_ud_tokens_of_english_text():
    from rnnzoo.data.text import ud_tokens

    assert ud_tokens("Don't go, John's car is in the U.S. with Mr. Smith...") == [
        "Do", "n't", "go", ",", "John", "'s", "car", "is", "in", "the", "U.S.", "with", "Mr.",
        "Smith", "..."]
    assert ud_tokens("It costs $3.5 million (1,000 units); e-mail a.b@c.com!") == [
        "It", "costs", "$", "3.5", "million", "(", "1,000", "units", ")", ";", "e-mail",
        "a.b@c.com", "!"]
    assert ud_tokens("") == [] and ud_tokens("  ") == []


def test_task_commands_read_a_file_argument_or_option(tmp_path):
    mail = tmp_path / "mail.txt"
    mail.write_text("Subject: lunch\n\nAre we still on for lunch at noon?\nSee you,\nAnn\n")
    whole = run("classify", "bilstm-spam", str(mail), "--json")
    assert whole.exit_code == 0, whole.output
    assert len(whole.stdout.splitlines()) == 1
    assert json.loads(whole.stdout)["probability"] == pytest.approx(
        rnnzoo.load("bilstm-spam").classify(mail.read_text())[1])
    assert run("classify", "bilstm-spam", "--file", str(mail)).stdout == \
        run("classify", "bilstm-spam", "-", stdin=mail.read_text()).stdout
    assert len(run("classify", "bilstm-spam", str(mail), "--lines").stdout.splitlines()) == 5
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("Mary lives in London.\nBob works for Google.\n")
    tagged = run("tag", "bilstm-crf-pos", "--file", str(sentences))
    assert len(tagged.stdout.splitlines()) == 2
    assert run("tag", "bilstm-crf-pos", str(sentences)).stdout == tagged.stdout
    both = run("tag", "bilstm-crf-pos", "x", "--file", str(sentences))
    assert both.exit_code == 2 and "give TEXT or --file, not both" in both.output
    assert run("translate", "lstm-seq2seq-en-es").exit_code == 2


def test_mostly_unknown_input_gets_a_warning():
    german = run("translate", "lstm-seq2seq-en-es", "Ich möchte bitte einen Kaffee haben.",
                 "--json")
    assert german.exit_code == 0
    assert "words are unknown to lstm-seq2seq-en-es; its answer is unreliable" in german.stderr
    assert json.loads(german.stdout)["unknown_words"] > 0.5
    english = run("translate", "lstm-seq2seq-en-es", "And God said, Let there be light.")
    assert english.exit_code == 0 and english.stderr == ""
    tagged = run("tag", "bilstm-crf-pos", "Xqzv wplk trnn vbbq .")
    assert "words are unknown to bilstm-crf-pos" in tagged.stderr


def test_list_prints_one_short_line_per_model_and_nothing_on_stderr():
    script = str(Path(sys.executable).parent / "rnnzoo")
    listed = subprocess.run([script, "list"], capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and listed.stderr == ""
    lines = listed.stdout.splitlines()
    assert [line.split()[0] for line in lines] == rnnzoo.list_models()
    assert all(len(line) <= 160 for line in lines), max(lines, key=len)
