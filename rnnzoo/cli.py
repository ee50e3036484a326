"""The ``rnnzoo`` command line: parses, calls the library, prints."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import shutil
import sys

import click

from rnnzoo import __version__


class Main(click.Group):
    """Runtime errors print one line naming the problem and exit 1 (``--debug``: traceback)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            if ctx.params.get("debug"):
                raise
            click.echo(f"rnnzoo: error: {error}", err=True)
            sys.exit(1)


@click.group(cls=Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rnnzoo")
@click.option("--debug", is_flag=True, help="Show the traceback of an error.")
def main(debug: bool) -> None:
    """rnnzoo: a Keras 3 / TensorFlow model zoo of recurrent networks for NLP.

    \b
    Example:
      rnnzoo --version
    """
    package = logging.getLogger("rnnzoo")
    if not any(isinstance(h, _EchoHandler) for h in package.handlers):
        package.addHandler(_EchoHandler(logging.WARNING))


class _EchoHandler(logging.Handler):
    """rnnzoo's warnings (an input cut, a batch fitted to short data) as ``rnnzoo: MESSAGE``
    lines on the command's stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"rnnzoo: {record.getMessage()}", err=True)


def run() -> None:
    """The ``rnnzoo`` console script: :func:`main`, TensorFlow's native log lines silenced
    unless ``--debug`` comes before the command."""
    if "--debug" not in sys.argv[1:2]:
        quiet_native_logs()
    main()


def quiet_native_logs() -> None:
    """Sends what TensorFlow's C++ side writes to file descriptor 2 (its absl start-up lines,
    CUDA probes, oneDNN notes, which ``TF_CPP_MIN_LOG_LEVEL`` does not reach) to /dev/null,
    while Python's ``sys.stderr`` (rnnzoo's errors and warnings, click's messages) keeps the
    terminal. Called before TensorFlow is imported; ``--debug`` keeps everything."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        sys.stderr.flush()
        terminal = os.dup(2)
    except (OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stderr = os.fdopen(terminal, "w", buffering=1, encoding=sys.stderr.encoding,
                           errors=sys.stderr.errors)


MAX_GENERATED_TOKENS = 100_000
"""The most tokens ``rnnzoo generate`` writes for one prompt (about 20 minutes of the word
model on two CPU cores); the API has no limit."""


data_dir_option = click.option(
    "--data-dir", envvar="RNNZOO_DATA", type=click.Path(file_okay=False),
    help="Folder holding the corpora (default: $RNNZOO_DATA).")


def _print(data, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2))
    elif isinstance(data, dict):
        for key, value in data.items():
            click.echo(f"{key}: {json.dumps(value) if isinstance(value, dict) else value}")
    else:
        for item in data:
            click.echo(item)


@main.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_command(as_json: bool) -> None:
    """List the shipped models.

    \b
    Example:
      rnnzoo list --json
    """
    from rnnzoo.zoo import info, list_models

    rows = [{k: v for k, v in info(name).items() if k in ("name", "task", "description")}
            for name in list_models()]
    if as_json:
        _print(rows, True)
    else:
        _print([f"{r['name']:<22} {r['task']:<15} {r['description']}" for r in rows], False)


@main.command("info")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def info_command(name: str, as_json: bool) -> None:
    """Show a model's recipe and measured metrics.

    \b
    Example:
      rnnzoo info rnn-lm
    """
    from rnnzoo.zoo import info

    details = info(name)
    _print(details if as_json else {k: details[k] for k in ("name", "task", "description",
                                                            "folder", "metrics")}, as_json)


@main.command()
@click.argument("name_or_path")
@click.option("--split", default="test", show_default=True, help="Split of the recipe's corpus.")
@click.option("--data", "data_file", type=click.Path(exists=True, dir_okay=False),
              help="Evaluate on this file (the task's format, see finetune) instead of a split.")
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def evaluate(name_or_path: str, split: str, data_file: str | None, data_dir: str | None,
             as_json: bool) -> None:
    """Evaluate a zoo model or a trained folder on a split of its corpus, or on a file.

    \b
    Example:
      rnnzoo evaluate gru-lm --data tests/data/finetune/persuasion_ch1.txt
    """
    from rnnzoo.tasks.registry import get_task
    from rnnzoo.training.datafiles import for_files
    from rnnzoo.zoo.registry import read_config, resolve

    folder = resolve(name_or_path)
    config = read_config(folder)
    data = for_files(config["data"], test=data_file) if data_file else None
    split = "test" if data_file else split
    metrics = get_task(config["task"]).recipe().evaluate(folder, data_dir, split, data=data)
    where = {"data": str(data_file)} if data_file else {"split": split}
    _print({"model": config["name"], **where, **metrics}, as_json)


@main.command()
@click.argument("name")
@click.argument("prompt")
@click.option("--max-tokens", default=50, show_default=True,
              type=click.IntRange(0, MAX_GENERATED_TOKENS),
              help=f"Tokens to write, at most {MAX_GENERATED_TOKENS:,}.")
@click.option("--temperature", default=1.0, show_default=True, type=click.FloatRange(0))
@click.option("--top-k", default=0, show_default=True, type=click.IntRange(0))
@click.option("--top-p", default=1.0, show_default=True, type=click.FloatRange(0, 1, min_open=True))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--allow-unk", is_flag=True, help="Let the model write <unk> (left out by default).")
def generate(name: str, prompt: str, max_tokens: int, temperature: float, top_k: int,
             top_p: float, seed: int, allow_unk: bool) -> None:
    """Continue PROMPT with a language model ('-' reads prompts from stdin, one a line).

    The text is printed as it is written; Ctrl-C stops it, keeping what was printed. A word
    model reads the prompt as its training text was written (lower-cased, numbers as N for
    the Penn Treebank) and says which prompt words it does not know.

    \b
    Example:
      rnnzoo generate rnn-lm "It is a truth" --max-tokens 80 --temperature 0.7
    """
    model = _task(name, "generate")
    prompts = [line.rstrip("\n") for line in sys.stdin] if prompt == "-" else [prompt]
    try:
        for text in prompts:
            unknown = model.unknown_words(text)
            if unknown:
                click.echo(f"rnnzoo: {name} does not know {len(unknown)} prompt word(s), read as "
                           f"<unk>: {' '.join(unknown[:10])}", err=True)
            pieces = model.stream(text, max_tokens=max_tokens, temperature=temperature,
                                  top_k=top_k, top_p=top_p, seed=seed, allow_unk=allow_unk)
            click.echo(text, nl=False)
            started = False
            for piece in pieces:
                if piece and not started:
                    piece, started = model.glue(text, piece) + piece, True
                click.echo(piece, nl=False)
            click.echo()
    except KeyboardInterrupt:
        click.echo()
        click.echo("rnnzoo: interrupted", err=True)
        sys.exit(130)


def _inputs(text: str | None, file: str | None, whole: bool = False) -> list[str]:
    """What a task command reads: ``--file PATH``, or TEXT, which may name a file or be '-'
    for stdin. A file or stdin is one text per line, or one text (``whole``)."""
    if file is not None and text is not None:
        raise click.UsageError("give TEXT or --file, not both")
    if file is None and text is None:
        raise click.UsageError("give TEXT, --file PATH, or '-' to read stdin")
    if file is None and text != "-" and not os.path.isfile(text):
        return [text]
    if file is not None or text != "-":
        with click.open_file(file or text, encoding="utf-8") as f:
            content = f.read()
    else:
        content = sys.stdin.read()
    if whole:
        return [content] if content else []
    return content.splitlines()


def _warn_unknown(name: str, unknown: int, total: int) -> None:
    """A warning on stderr when most of an input's words are unknown to the model."""
    if total and unknown / total > 0.5:
        click.echo(f"rnnzoo: warning: {unknown} of {total} words are unknown to {name}; its "
                   "answer is unreliable (is the text in the language and domain it was "
                   "trained on?)", err=True)


def _task(name: str, method: str):
    """The model ``name``, loaded; a usage error when it has no ``method`` (the command's)."""
    from rnnzoo.zoo import load

    model = load(name)
    if not callable(getattr(model, method, None)):
        raise click.UsageError(f"{name} is a {model.task} model; it cannot {method}")
    return model


text_argument = click.argument("text", required=False)
file_option = click.option("--file", type=click.Path(exists=True, dir_okay=False),
                           help="Read the input from this file (UTF-8).")


@main.command()
@click.argument("name")
@text_argument
@file_option
@click.option("--pretokenized", is_flag=True,
              help="Tokens are split on white space only (default: punctuation and clitics are "
                   "split off as in the UD treebanks).")
@click.option("--entities", is_flag=True, help="Print the entity spans instead of the tags.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object a line).")
def tag(name: str, text: str | None, file: str | None, pretokenized: bool, entities: bool,
        as_json: bool) -> None:
    """Tag TEXT, one sentence; or FILE, or '-' (stdin), one sentence a line.

    Raw text is tokenised as the model's training data were (``I flew to Frankfurt.`` →
    I flew to Frankfurt .) unless --pretokenized. JSON pairs say whether the model knew each
    word; a warning says when most words of a sentence are unknown to it.

    \b
    Example:
      rnnzoo tag bilstm-crf-ner "I flew to Frankfurt with Angela Merkel."
    """
    from rnnzoo.data.text import ud_tokens

    model = _task(name, "tag")
    for sentence in _inputs(text, file):
        sentence = model.cut_text(sentence)
        tokens = sentence.split() if pretokenized else ud_tokens(sentence)
        if not tokens:
            click.echo("[]" if as_json else "")
            continue
        unknown = model.unknown_words(tokens)
        _warn_unknown(name, len(unknown), min(len(tokens), model.max_input_tokens))
        if entities:
            spans = model.entities(tokens)
            click.echo(json.dumps([dict(zip(("text", "type", "start", "end"), s)) for s in spans])
                       if as_json else "  ".join(f"{t} ({kind})" for t, kind, _, _ in spans))
        else:
            pairs = model.tag(tokens)
            missing = set(unknown)
            click.echo(json.dumps([{"token": t, "tag": g, "known": t not in missing}
                                   for t, g in pairs]) if as_json
                       else " ".join(f"{t}/{g}" for t, g in pairs))


@main.command()
@click.argument("name")
@text_argument
@file_option
@click.option("--beam-size", type=click.IntRange(1), help="Beam width (default: the model's).")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: source, translation and the share of unknown source words.")
def translate(name: str, text: str | None, file: str | None, beam_size: int | None,
              as_json: bool) -> None:
    """Translate TEXT; or FILE, or '-' (stdin), one source a line.

    A warning says when most words of a source are unknown to the model.

    \b
    Example:
      rnnzoo translate lstm-seq2seq-en-es "In the beginning God created the heaven."
    """
    model = _task(name, "translate")
    sources = _inputs(text, file)
    for source, line in zip(sources, model.translate(sources, beam_size=beam_size)):
        unknown, total = model.unknown_words(source)
        _warn_unknown(name, len(unknown), total)
        click.echo(json.dumps({"source": source, "translation": line,
                               "unknown_words": len(unknown) / total if total else 0.0},
                              ensure_ascii=False) if as_json else line)


@main.command()
@click.argument("name")
@text_argument
@file_option
@click.option("--lines", is_flag=True, help="A file or stdin holds one text a line.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON with every class probability.")
def classify(name: str, text: str | None, file: str | None, lines: bool, as_json: bool) -> None:
    """Classify TEXT; or FILE, or '-' (stdin), read whole as one text (an e-mail) unless
    --lines.

    \b
    Example:
      rnnzoo classify bilstm-spam "Win a free cruise, click here now"
    """
    model = _task(name, "classify")
    texts = _inputs(text, file, whole=not lines)
    if not texts:
        return
    for row in model.probabilities(texts):
        label, probability = model.labels[int(row.argmax())], float(row.max())
        if as_json:
            click.echo(json.dumps({"label": label, "probability": probability,
                                   "probabilities": dict(zip(model.labels, map(float, row)))}))
        else:
            click.echo(f"{label}\t{probability:.4f}")


def run_options(command):
    """The runtime options of ``train``, ``finetune`` and ``tune``."""
    from rnnzoo.training.options import STRATEGIES

    options = [
        click.option("--strategy", type=click.Choice(STRATEGIES),
                     help="tf.distribute: 'mirrored' (the local devices) or 'multi-worker' "
                          "(the cluster in TF_CONFIG)."),
        click.option("--mixed-precision", is_flag=True,
                     help="Compute in bfloat16 on a CPU, float16 on a GPU; float32 variables."),
        click.option("--jit", is_flag=True, help="XLA-compile the training step."),
        click.option("--verbose", type=click.IntRange(0, 2), default=1, show_default=True,
                     help="0: silent, 1: progress bar, 2: one line per epoch (for logs)."),
        click.option("--no-tensorboard", is_flag=True, help="Do not write OUT/logs."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _options(strategy, mixed_precision, jit, verbose, no_tensorboard):
    """The run options; the strategy is made now, before any TensorFlow op runs (a
    multi-worker strategy must be)."""
    from rnnzoo.training.options import RunOptions

    options = RunOptions(strategy=strategy, mixed_precision=mixed_precision, jit=jit,
                         verbose=verbose, tensorboard=not no_tensorboard)
    options.distribution()
    return options


@contextlib.contextmanager
def _resumable(out_dir: str):
    """A training command's run folder: a run that fails or is stopped before its first epoch
    is saved leaves no folder it created; Ctrl-C prints one line naming the saved epoch and
    the command that continues it, exit status 130."""
    state = os.path.join(out_dir, "checkpoints", "checkpoint.json")
    created = not os.path.exists(out_dir)
    try:
        yield
    except BaseException as error:
        if created and not os.path.exists(state):
            shutil.rmtree(out_dir, ignore_errors=True)
        if not isinstance(error, KeyboardInterrupt):
            raise
        args = [a for a in sys.argv[1:] if a != "--resume"]
        again = shlex.join(["rnnzoo", *args, "--resume"])
        try:
            with open(state, encoding="utf-8") as f:
                done = json.load(f)["epochs_done"]
            saved = f"epoch {done} is saved in {out_dir}; continue with: {again}"
        except (OSError, ValueError, KeyError):
            saved = f"no epoch had ended: nothing was saved in {out_dir}"
        click.echo(f"rnnzoo: interrupted; {saved}", err=True)
        sys.exit(130)


@main.command()
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@data_dir_option
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for checkpoints, the trained model, vocabulary and metrics.")
@click.option("--resume", is_flag=True, help="Continue from the last checkpoint in --out.")
@click.option("--restartable", is_flag=True,
              help="Continue from the last checkpoint in --out when it holds one, else start: "
                   "for cluster jobs whose workers are all restarted with the same command.")
@run_options
def train(config: str, data_dir: str | None, out_dir: str, resume: bool, restartable: bool,
          **runtime) -> None:
    """Train a recipe (a zoo config) into OUT.

    \b
    Example:
      rnnzoo train tests/data/recipes/tiny-classifier.yaml --out /tmp/rnnzoo-tiny
    """
    from rnnzoo.tasks.registry import get_task
    from rnnzoo.training.checkpoints import STATE_FILE
    from rnnzoo.training.recipe import load_recipe

    options = _options(**runtime)
    recipe = load_recipe(config)
    resume = resume or (restartable and os.path.exists(os.path.join(out_dir, "checkpoints",
                                                                     STATE_FILE)))
    with _resumable(out_dir):
        metrics = get_task(recipe["task"]).recipe().train(recipe, data_dir, out_dir, resume=resume,
                                                      options=options)
    click.echo(json.dumps(metrics, indent=2))


@main.command()
@click.argument("name_or_path")
@click.option("--data", "train_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Training file: text (language models), .conllu or IOB2 (taggers), TSV "
                   "source/target (translators), .csv or .jsonl text/label (classifiers).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Run folder: checkpoints, logs, model, history.json, learning_curves.png.")
@click.option("--valid", "valid_file", type=click.Path(exists=True, dir_okay=False),
              help="Validation file (default: hold out --valid-fraction of --data).")
@click.option("--test", "test_file", type=click.Path(exists=True, dir_okay=False),
              help="Test file, scored at the end into metrics.json.")
@click.option("--valid-fraction", default=0.1, show_default=True,
              type=click.FloatRange(0, 0.5, min_open=True, max_open=True))
@click.option("--epochs", default=3, show_default=True, type=click.IntRange(1))
@click.option("--learning-rate", type=click.FloatRange(0, min_open=True),
              help="Default: the model's recipe's.")
@click.option("--batch-size", type=click.IntRange(1), help="Default: the model's recipe's.")
@click.option("--extend-vocab", is_flag=True,
              help="Add the data's new words (tags, labels) to the vocabulary; else they are "
                   "unknown (new tags or labels: an error).")
@click.option("--set", "settings", multiple=True, metavar="SECTION.KEY=VALUE",
              help="Override a training or vocabulary key, e.g. training.bptt=40.")
@click.option("--resume", is_flag=True, help="Continue from the last checkpoint in --out.")
@run_options
def finetune(name_or_path: str, train_file: str, out_dir: str, valid_file: str | None,
             test_file: str | None, valid_fraction: float, epochs: int,
             learning_rate: float | None, batch_size: int | None, extend_vocab: bool,
             settings: tuple[str, ...], resume: bool, **runtime) -> None:
    """Fine-tune a zoo model (or a trained folder) on your data into OUT.

    \b
    Example:
      rnnzoo finetune rnn-lm --data tests/data/finetune/persuasion_ch1.txt \\
        --out /tmp/rnnzoo-ft --epochs 1 --batch-size 8 --set training.bptt=50
    """
    from rnnzoo.zoo.finetune import finetune as finetune_model
    from rnnzoo.zoo.finetune import parse_settings

    try:
        overrides = parse_settings(list(settings))
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--set") from None
    with _resumable(out_dir):
        metrics = finetune_model(
            name_or_path, train_file, out_dir, resume=resume, options=_options(**runtime),
            valid=valid_file, test=test_file, valid_fraction=valid_fraction, epochs=epochs,
            learning_rate=learning_rate, batch_size=batch_size, extend_vocab=extend_vocab,
            settings=overrides)
    click.echo(json.dumps(metrics, indent=2))


@main.command()
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@data_dir_option
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for the trials, best.yaml and trials.md.")
@click.option("--resume", is_flag=True, help="Continue the search in --out.")
@run_options
def tune(config: str, data_dir: str | None, out_dir: str, resume: bool, **runtime) -> None:
    """Search the hyperparameters of a recipe's tune: section with keras-tuner.

    Writes OUT/best.yaml (train it with rnnzoo train) and OUT/trials.md. For a distributed
    search set KERASTUNER_TUNER_ID (chief, tuner0, tuner1, ...), KERASTUNER_ORACLE_IP and
    KERASTUNER_ORACLE_PORT in each process (see the README).

    \b
    Example:
      rnnzoo tune tests/data/recipes/tiny-classifier.yaml --out /tmp/rnnzoo-tune --verbose 0
    """
    from pathlib import Path

    from rnnzoo.training.recipe import load_recipe
    from rnnzoo.zoo.tuning import tune as tune_recipe

    best = tune_recipe(load_recipe(config), data_dir, out_dir, resume=resume,
                       options=_options(**runtime))
    if best is not None:
        click.echo((Path(out_dir) / "trials.md").read_text(encoding="utf-8"), nl=False)
        click.echo(f"best configuration: {Path(out_dir) / 'best.yaml'}")


@main.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--models-dir", default="saved_models", show_default=True,
              type=click.Path(file_okay=False), help="The zoo folder to publish into.")
@data_dir_option
def publish(run_dir: str, models_dir: str, data_dir: str | None) -> None:
    """Publish a trained run into the zoo: evaluate it, write its card and manifest.

    \b
    Example:
      rnnzoo publish runs/gru-lm --data-dir ../shared/data
    """
    from pathlib import Path

    from rnnzoo.zoo.cards import update_readme
    from rnnzoo.zoo.publish import publish as publish_run

    click.echo(publish_run(run_dir, models_dir, data_dir))
    readme = Path(models_dir).resolve().parent / "README.md"
    if readme.is_file() and "<!-- models:start -->" in readme.read_text():
        update_readme(readme, Path(models_dir))


@main.command()
@click.argument("name_or_path")
@click.option("--out", "base", required=True, type=click.Path(file_okay=False),
              help="Base folder TF Serving watches; the export goes to OUT/NAME/VERSION.")
@click.option("--version", "version", type=click.IntRange(1),
              help="Version number (default: one above the highest present).")
@click.option("--name", help="Model name under OUT (default: the model's name).")
def export(name_or_path: str, base: str, version: int | None, name: str | None) -> None:
    """Export a model as a SavedModel for TensorFlow Serving (strings in, answers out).

    \b
    Example:
      rnnzoo export rnn-lm --out /tmp/serving
    """
    from rnnzoo.zoo import load

    click.echo(load(name_or_path).export(base, version=version, name=name))
