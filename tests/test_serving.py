"""SavedModel export for TF Serving: in-graph tokenisers, the versioned layout, and every zoo
model served by a fresh process that imports TensorFlow alone."""

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import rnnzoo
from rnnzoo.serving import MODELS_CONFIG, VersionExistsError, read_warmup, text_ops
from rnnzoo.serving.layout import write_version
from rnnzoo.zoo.export import example_requests

CLIENT = Path(__file__).parent / "serving_client.py"
LONG = " ".join(f"word{i % 7} London ," for i in range(400))
"""1,200 tokens: over every task object's ``max_input_tokens`` (1,000), so the export must cut
it as the task object does."""
TEXTS = ["John Smith flew to London on Monday .", "the company said it would", "",
         "Sales rose 12% to $4.5 billion in 1989",
         "  Héllo wörld — ok?\u00a0e\u0301 🙂 ", "zzqx qqzz 12,5 (free) money-back o'neil’s!", LONG]
SETTINGS = {"max_tokens": [5, 6, 0, 8, 9, 4, 7],
            "temperature": [0.0, 0.5, 1.0, 1.5, 0.7, 0.0, 0.9],
            "top_k": [0, 3, 0, 10, 5, 0, 0], "seed": [1, 2, 3, 4, 5, 6, 7]}
FORBIDDEN = ("PyFunc", "EagerPyFunc", "PyFuncStateless", "CudnnRNN", "CudnnRNNV2", "CudnnRNNV3",
             "XlaLaunch", "_XlaCompile", "_XlaRun")
TEXT = st.text(st.characters(exclude_categories=("Cs", "Cn", "Co")))  # Cn: Unicode versions differ


def classifier_tokens(text: str, lowercase: bool) -> list[str]:
    """What the classifier's RE2 tokeniser must give: Python's ``\\w+|[^\\w\\s]``."""
    return re.findall(r"\w+|[^\w\s]", text.lower() if lowercase else text)


def seq2seq_tokens(text: str) -> list[str]:
    """What the translator's RE2 tokeniser must give: Python's
    ``\\w+(?:[-'’]\\w+)*|[^\\w\\s]``."""
    return re.findall(r"\w+(?:[-'’]\w+)*|[^\w\s]", text)


def detokenize(tokens: list[str]) -> str:
    """What the RE2 detokeniser must give: no space before ``. , ; : ? ! ) ]``, none after
    ``¿ ¡ ( [``."""
    text = re.sub(r" ([.,;:?!)\]])", r"\1", " ".join(tokens))
    return re.sub(r"([¿¡(\[]) ", r"\1", text)


def strings(tensor) -> list:
    return [s.decode("utf-8") for s in np.asarray(tensor).reshape(-1)]


@settings(max_examples=100, deadline=None)
@given(TEXT)
@example("rock-n-roll")
@example("a-b-c-d e'f'g o'-x y-'z")
def test_graph_tokenisers_equal_their_python_regex_definitions(text):
    import tensorflow as tf

    batch = tf.constant([text])
    assert strings(text_ops.split_whitespace(batch)[0]) == text.split()
    assert strings(text_ops.words_and_punctuation(batch)[0]) == classifier_tokens(text, False)
    assert strings(text_ops.joined_words_and_punctuation(batch)[0]) == seq2seq_tokens(text)
    joined = " ".join(seq2seq_tokens(text))
    assert strings(text_ops.detokenize(tf.constant([joined]))) == [detokenize(seq2seq_tokens(text))]


@pytest.mark.parametrize("text, tokens", [
    ("rock-n-roll", ["rock-n-roll"]),
    ("a-b-c", ["a-b-c"]),
    ("x-y", ["x-y"]),
    ("don't-stop", ["don't-stop"]),
    ("-a- b-", ["-", "a", "-", "b", "-"]),
])
def test_joiners_between_one_character_segments_stay_inside_the_word(text, tokens):
    import tensorflow as tf

    assert seq2seq_tokens(text) == tokens
    assert strings(text_ops.joined_words_and_punctuation(tf.constant([text]))[0]) == tokens


def test_lowercasing_equals_python_on_european_text():
    import tensorflow as tf

    text = "ÉCOLE Straße ÀÖÜ İSTANBUL Ωμέγα"
    assert strings(text_ops.words_and_punctuation(tf.constant([text]), True)[0]) == \
        classifier_tokens(text, True)


def fill(content: str):
    def write(folder: Path) -> None:
        (folder / "saved_model.pb").write_text(content)

    return write


def test_versions_count_up_and_are_never_overwritten(tmp_path):
    first = write_version(tmp_path, "m", None, fill("one"))
    second = write_version(tmp_path, "m", None, fill("two"))
    assert (first.name, second.name) == ("1", "2")
    before = (first / "saved_model.pb").read_bytes()
    with pytest.raises(VersionExistsError, match=r"m/1 exists already: versions are never"):
        write_version(tmp_path, "m", 1, fill("three"))
    assert (first / "saved_model.pb").read_bytes() == before
    assert write_version(tmp_path, "m", 7, fill("x")).name == "7"
    assert write_version(tmp_path, "m", None, fill("y")).name == "8"
    config = (tmp_path / MODELS_CONFIG).read_text()
    assert 'name: "m"' in config and 'base_path: "/models/m"' in config


@pytest.mark.parametrize("name, version, message", [
    ("../x", None, "export name '../x'"), ("", None, "export name ''"),
    ("/abs", None, "export name '/abs'"), ("m", 0, "version must be a positive integer"),
])
def test_bad_names_and_versions(tmp_path, name, version, message):
    with pytest.raises(ValueError, match=message):
        write_version(tmp_path, name, version, fill(""))
    assert not any(tmp_path.iterdir())


def test_a_failed_export_leaves_nothing(tmp_path):
    def broken(folder: Path) -> None:
        (folder / "saved_model.pb").write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_version(tmp_path, "m", None, broken)
    assert list((tmp_path / "m").iterdir()) == []


def test_a_killed_export_leaves_no_version(tmp_path):
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from rnnzoo.serving.layout import write_version\n"
        "def slow(folder):\n"
        "    (folder / 'saved_model.pb').write_text('partial')\n"
        "    print('writing', flush=True)\n"
        "    time.sleep(60)\n"
        "write_version(sys.argv[1], 'm', None, slow)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "writing"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert [p.name for p in (tmp_path / "m").iterdir() if p.name.isdigit()] == []
    assert write_version(tmp_path, "m", None, fill("ok")).name == "1"


def requests_for(task) -> dict:
    if task.task == "language_model":
        return {"serving_default": {"prompts": TEXTS},
                "generate": {"prompts": TEXTS, **SETTINGS},
                "score": {"texts": TEXTS}}
    if task.task == "tagger":
        return {"serving_default": {"sentences": [t for t in TEXTS if t.split()]}}
    if task.task == "classifier":
        return {"serving_default": {"texts": TEXTS}}
    return {"serving_default": {"sources": TEXTS}, "translate_greedy": {"sources": TEXTS}}


def in_process(task) -> dict:
    """What rnnzoo answers in process, in the shape of the signatures' outputs."""
    if task.task == "language_model":
        sampled = [task.generate(t, **{k: v[i] for k, v in SETTINGS.items()})
                   for i, t in enumerate(TEXTS)]
        scores = [task.log_likelihood(t) for t in TEXTS]
        return {"serving_default": {"continuation": task.generate(TEXTS)},
                "generate": {"continuation": sampled},
                "score": {"log_likelihood": [s for s, _ in scores],
                          "tokens": [n for _, n in scores]}}
    if task.task == "tagger":
        tagged = [task.tag(t) for t in TEXTS if t.split()]
        return {"serving_default": {"tokens": [[w for w, _ in s] for s in tagged],
                                    "tags": [[t for _, t in s] for s in tagged],
                                    "lengths": [len(s) for s in tagged]}}
    if task.task == "classifier":
        labels = task.classify(TEXTS)
        return {"serving_default": {"label": [label for label, _ in labels],
                                    "probability": [p for _, p in labels],
                                    "probabilities": task.probabilities(TEXTS).tolist()}}
    return {"serving_default": {"translation": task.translate(TEXTS)},
            "translate_greedy": {"translation": task.translate(TEXTS, beam_size=1)}}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Every zoo model exported, then served by a process that imports TensorFlow alone."""
    base = tmp_path_factory.mktemp("serving")
    tasks = {name: rnnzoo.load(name) for name in rnnzoo.list_models()}
    exports = {name: {"dir": str(task.export(base)), "requests": requests_for(task)}
               for name, task in tasks.items()}
    process = subprocess.run([sys.executable, str(CLIENT)], input=json.dumps({"exports": exports}),
                             capture_output=True, text=True, timeout=900,
                             env={**os.environ, "PYTHONPATH": ""}, cwd=base)
    assert process.returncode == 0, process.stderr[-3000:]
    return base, tasks, exports, json.loads(process.stdout)


@pytest.mark.slow
def test_served_answers_equal_rnnzoo_in_process(served):
    _, tasks, _, result = served
    assert result.pop("rnnzoo_imported") is False
    assert set(result) == set(rnnzoo.list_models())
    for name, task in tasks.items():
        expected = in_process(task)
        for signature, outputs in expected.items():
            got = result[name]["outputs"][signature]
            for key, value in outputs.items():
                if key in ("log_likelihood", "probability", "probabilities"):
                    np.testing.assert_allclose(got[key], value, rtol=1e-5, atol=1e-5,
                                               err_msg=f"{name} {signature} {key}")
                elif key in ("tokens", "tags") and task.task == "tagger":
                    trimmed = [row[:n] for row, n in zip(got[key], got["lengths"])]
                    assert trimmed == value, f"{name} {signature} {key}"
                else:
                    assert got[key] == value, f"{name} {signature} {key}"


@pytest.mark.slow
def test_exports_hold_only_registered_core_ops(served):
    _, _, _, result = served
    for name in rnnzoo.list_models():
        ops = set(result[name]["ops"])
        assert result[name]["unregistered"] == [], name
        assert not ops & set(FORBIDDEN), (name, ops & set(FORBIDDEN))
        assert {"StringSplitV2", "LookupTableFindV2"} & ops, name


@pytest.mark.slow
def test_warmup_records_parse_and_run(served):
    _, tasks, exports, result = served
    for name, task in tasks.items():
        records = read_warmup(Path(exports[name]["dir"]) / "assets.extra" /
                              "tf_serving_warmup_requests")
        assert [r.predict_log.request.model_spec.signature_name for r in records] == \
            list(example_requests(task))
        assert result[name]["warmup"] == list(example_requests(task))


@pytest.mark.slow
def test_layout_and_models_config(served):
    base, tasks, exports, result = served
    config = (base / MODELS_CONFIG).read_text()
    for name in tasks:
        folder = Path(exports[name]["dir"])
        assert folder == base / name / "1"
        assert {"saved_model.pb", "variables", "assets.extra"} <= {p.name for p in folder.iterdir()}
        assert f'name: "{name}"' in config


@pytest.mark.slow
@pytest.mark.parametrize("name", ["rnn-lm", "bilstm-spam"])
def test_saved_model_cli_lists_the_signatures(served, name):
    _, tasks, exports, result = served
    cli = Path(sys.executable).with_name("saved_model_cli")
    shown = subprocess.run([str(cli), "show", "--dir", exports[name]["dir"], "--all"],
                           capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr[-2000:]
    for signature in result[name]["signatures"]:
        assert f"signature_def['{signature}']" in shown.stdout


@pytest.mark.slow
def test_exporting_twice_to_one_version_fails_and_keeps_the_first(served, tmp_path):
    base, tasks, exports, _ = served
    folder = Path(exports["rnn-lm"]["dir"])
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    with pytest.raises(VersionExistsError, match="exists already"):
        tasks["rnn-lm"].export(base, version=1)
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


@pytest.mark.slow
def test_cli_export(served, tmp_path):
    from click.testing import CliRunner

    from rnnzoo.cli import main

    result = CliRunner().invoke(main, ["export", "rnn-lm", "--out", str(tmp_path), "--version",
                                       "3"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "rnn-lm" / "3" / "saved_model.pb").is_file()
    again = CliRunner().invoke(main, ["export", "rnn-lm", "--out", str(tmp_path), "--version",
                                      "3"])
    assert again.exit_code == 1 and "exists already" in again.output
