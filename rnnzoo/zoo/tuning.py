"""Hyperparameter search with keras-tuner over a recipe's ``tune:`` section; each trial trains
the recipe, with the trial's values put in, by the task's recipe module::

    tune:
      tuner: random            # random | hyperband | bayesian
      max_trials: 10           # random and bayesian
      max_epochs: 8            # hyperband (default: training.epochs); factor: 3
      objective: {metric: accuracy, direction: max}    # a metric of the valid split
      space:
        model.hidden: {choice: [64, 128, 256]}
        model.dropout: {float: [0.0, 0.5], step: 0.1}
        training.learning_rate: {float: [0.0001, 0.01], sampling: log}
        training.batch_size: {int: [16, 64], step: 16}

Keys are ``SECTION.KEY`` of the recipe (model, data, vocabulary, training). The run folder holds
``trials/ID/`` (each trial's run), ``keras_tuner/`` (the oracle's state; a distributed
search's workers keep theirs in ``keras_tuner_workers/ID``), ``best.yaml`` (the
recipe with the best values, ready for ``rnnzoo train``) and ``trials.md`` (every trial's values,
status and objective).

Distributed: with ``KERASTUNER_TUNER_ID``, ``KERASTUNER_ORACLE_IP`` and
``KERASTUNER_ORACLE_PORT`` set, the process whose tuner id is ``chief`` serves the oracle (and
writes ``best.yaml`` and ``trials.md`` once the search ends) and the others (``tuner0``,
``tuner1``, ...) run trials, each in its own folder ``trials/ID``.
"""

from __future__ import annotations

import copy
import logging
import math
import os
from pathlib import Path
from typing import Any

import keras_tuner as kt

from rnnzoo.training.config import ConfigError, Field, dump_yaml, validate
from rnnzoo.training.options import RunOptions
from rnnzoo.training.recipe import validate_recipe

logger = logging.getLogger(__name__)

TUNERS = ("random", "hyperband", "bayesian")
SECTIONS = ("model", "data", "vocabulary", "training")
SCHEMA = {
    "tuner": Field(str, default="random", choices=TUNERS,
                   doc="keras-tuner's search: `RandomSearch`, `Hyperband` (Li et al. 2018) or "
                       "`BayesianOptimization` (a Gaussian process)"),
    "max_trials": Field(int, default=10, low=1,
                        doc="random and bayesian: the most trials to run"),
    "max_epochs": Field(int, default=None, nullable=True, low=1,
                        doc="hyperband: the most epochs one trial trains; null: the recipe's "
                            "`training.epochs`"),
    "factor": Field(int, default=3, low=2,
                    doc="hyperband: its reduction factor, by which each round cuts the trials "
                        "and multiplies their epochs"),
    "objective": Field(dict, doc="`{metric: NAME, direction: min or max}`: a metric of the valid "
                                 "split, as the task's evaluation reports it"),
    "space": Field(dict, check=(bool, "must declare at least one hyperparameter"),
                   doc="`SECTION.KEY` of the recipe (model, data, vocabulary, training) → its "
                       "range: `{int: [low, high]}`, `{float: [low, high]}` or `{choice: [...]}`"),
}
OBJECTIVE_SCHEMA = {
    "metric": Field(str, doc="the valid split's metric the search optimises, e.g. `accuracy`, "
                             "`perplexity`"),
    "direction": Field(str, choices=("min", "max"),
                       doc="whether a lower or a higher value is better"),
}
RANGE_SCHEMA = {
    "int": Field(list, default=None, nullable=True,
                 doc="`[low, high]`: integers from low to high inclusive (give exactly one of "
                     "`int`, `float` and `choice`)"),
    "float": Field(list, default=None, nullable=True,
                   doc="`[low, high]`: real numbers from low to high"),
    "choice": Field(list, default=None, nullable=True,
                    check=(bool, "must list at least one value"),
                    doc="the values to choose among"),
    "step": Field((int, float), default=None, nullable=True,
                  doc="the step between the values tried in an `int` or `float` range (a "
                      "factor > 1 with log sampling); null: 1 for `int`, continuous for `float`"),
    "sampling": Field(str, default="linear", choices=("linear", "log", "reverse_log"),
                      doc="the scale on which an `int` or `float` range is sampled (keras-tuner's "
                          "`sampling`)"),
}


def tune_section(recipe: dict) -> dict:
    """The recipe's ``tune`` section, checked (see the module docstring)."""
    if not recipe.get("tune"):
        raise ConfigError(f"{recipe.get('name', 'recipe')}: no tune section to search over")
    tune = validate(recipe["tune"], SCHEMA, "tune")
    tune["objective"] = validate(tune["objective"], OBJECTIVE_SCHEMA, "tune.objective")
    for key, spec in tune["space"].items():
        section, _, name = key.partition(".")
        if section not in SECTIONS or not name:
            raise ConfigError(f"tune.space.{key}: keys are SECTION.KEY with SECTION one of "
                              f"{list(SECTIONS)}")
        if section not in recipe or not isinstance(recipe[section], dict):
            raise ConfigError(f"tune.space.{key}: the recipe has no {section} section")
        spec = validate(spec, RANGE_SCHEMA, f"tune.space.{key}")
        kinds = [kind for kind in ("int", "float", "choice") if spec[kind] is not None]
        if len(kinds) != 1:
            raise ConfigError(f"tune.space.{key}: give exactly one of int, float and choice")
        bounds = spec[kinds[0]]
        if kinds[0] != "choice" and (len(bounds) != 2 or not bounds[0] < bounds[1]):
            raise ConfigError(f"tune.space.{key}: {kinds[0]} takes [low, high] with low < high, "
                              f"got {bounds}")
    return tune


def search_space(space: dict) -> kt.HyperParameters:
    """The keras-tuner hyperparameters of a checked ``tune.space``."""
    hp = kt.HyperParameters()
    for key, spec in space.items():
        step, sampling = spec.get("step"), spec.get("sampling", "linear")
        if spec.get("choice") is not None:
            hp.Choice(key, spec["choice"])
        elif spec.get("int") is not None:
            hp.Int(key, *spec["int"], step=step or 1, sampling=sampling)
        else:
            hp.Float(key, *spec["float"], step=step, sampling=sampling)
    return hp


def with_values(recipe: dict, values: dict[str, Any]) -> dict:
    """The recipe with ``{"SECTION.KEY": value}`` put in (keras-tuner's own keys ignored)."""
    result = copy.deepcopy({key: value for key, value in recipe.items() if key != "tune"})
    for key, value in values.items():
        section, _, name = key.partition(".")
        if section in SECTIONS:
            result[section][name] = value.item() if hasattr(value, "item") else value
    return result


class RecipeTuner:
    """Builds the keras-tuner tuner whose trials train the recipe."""

    def __init__(self, recipe: dict, data_dir: str | None, out: Path, options: RunOptions):
        from rnnzoo.tasks.registry import get_task

        self.recipe, self.tune = validate_recipe(recipe), tune_section(recipe)
        self.module = get_task(self.recipe["task"]).recipe()
        self.data_dir, self.out, self.options = data_dir, out, options

    def objective(self) -> kt.Objective:
        objective = self.tune["objective"]
        return kt.Objective(f"valid_{objective['metric']}", objective["direction"])

    def run_trial(self, trial: kt.engine.trial.Trial) -> dict:
        values = trial.hyperparameters.values
        recipe = with_values(self.recipe, values)
        if "tuner/epochs" in values:
            recipe["training"]["epochs"] = int(values["tuner/epochs"])
        metrics = self.module.train(recipe, self.data_dir, self.out / "trials" / trial.trial_id,
                                    options=self.options)
        metric = self.tune["objective"]["metric"]
        if metric not in metrics["valid"]:
            raise ConfigError(f"tune.objective.metric: {metric!r} is not one of the valid "
                              f"split's metrics {sorted(metrics['valid'])}")
        return {f"valid_{metric}": float(metrics["valid"][metric])}

    def build(self, resume: bool) -> kt.engine.base_tuner.BaseTuner:
        kind = {"random": kt.RandomSearch, "hyperband": kt.Hyperband,
                "bayesian": kt.BayesianOptimization}[self.tune["tuner"]]
        recipe_tuner = self

        class Tuner(kind):
            def run_trial(self, trial, *args, **kwargs):
                return recipe_tuner.run_trial(trial)

        sizes = ({"max_epochs": self.tune["max_epochs"] or self.recipe["training"]["epochs"],
                  "factor": self.tune["factor"], "hyperband_iterations": 1}
                 if self.tune["tuner"] == "hyperband" else
                 {"max_trials": self.tune["max_trials"]})
        return Tuner(hypermodel=None, objective=self.objective(),
                     hyperparameters=search_space(self.tune["space"]), tune_new_entries=False,
                     directory=str(self.out), project_name=project_name(), overwrite=not resume,
                     seed=self.recipe["seed"], **sizes)


def project_name() -> str:
    """keras-tuner's folder under OUT: ``keras_tuner`` (the oracle's state), or for a worker of
    a distributed search ``keras_tuner_workers/ID`` (its own tuner state, so that a worker
    starting first does not create the chief's folder)."""
    if is_tuning_worker():
        return f"keras_tuner_workers/{os.environ.get('KERASTUNER_TUNER_ID', 'tuner0')}"
    return "keras_tuner"


def is_tuning_worker() -> bool:
    """Whether this process only runs trials for a chief oracle elsewhere."""
    return ("KERASTUNER_ORACLE_IP" in os.environ
            and "chief" not in os.environ.get("KERASTUNER_TUNER_ID", ""))


def tune(recipe: dict, data_dir: str | None, out_dir: str | os.PathLike,
         resume: bool = False, options: RunOptions = RunOptions()) -> dict | None:
    """Searches the recipe's ``tune`` space into ``out_dir``; returns the best recipe (``None``
    in a distributed search's workers, which only run trials)."""
    out = Path(out_dir)
    if not resume and (out / "keras_tuner").exists() and not is_tuning_worker():
        raise FileExistsError(f"{out} holds a tuning run already: pass --resume to continue it, "
                              "or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    recipe_tuner = RecipeTuner(recipe, data_dir, out, options)
    tuner = recipe_tuner.build(resume or is_tuning_worker())
    tuner.search(verbose=options.verbose)
    if is_tuning_worker():
        return None
    return write_reports(recipe_tuner, tuner.oracle, out)


def write_reports(recipe_tuner: RecipeTuner, oracle: kt.Oracle, out: Path) -> dict:
    """``best.yaml`` and ``trials.md`` of a finished search; returns the best recipe."""
    trials = sorted(oracle.trials.values(), key=lambda t: int(t.trial_id))
    scored = [t for t in trials if t.score is not None and math.isfinite(t.score)]
    if not scored:
        reasons = "; ".join(f"trial {t.trial_id}: {(t.message or t.status).strip().splitlines()[-1]}"
                            for t in trials)
        raise RuntimeError(f"no trial finished: {reasons or 'none ran'}")
    best = oracle.get_best_trials(1)[0]
    best_recipe = with_values(recipe_tuner.recipe, best.hyperparameters.values)
    (out / "best.yaml").write_text(dump_yaml(best_recipe), encoding="utf-8")
    keys = list(recipe_tuner.tune["space"])
    objective = recipe_tuner.objective().name
    lines = [f"| trial | {' | '.join(keys)} | status | {objective} |",
             "|" + "---|" * (len(keys) + 3)]
    for trial in trials:
        values = [str(trial.hyperparameters.values.get(key, "")) for key in keys]
        score = "" if trial.score is None else f"{trial.score:.4f}"
        mark = " (best)" if trial.trial_id == best.trial_id else ""
        lines.append(f"| {trial.trial_id}{mark} | {' | '.join(values)} | {trial.status} "
                     f"| {score} |")
    (out / "trials.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    logger.info("best trial %s: %s", best.trial_id, best.hyperparameters.values)
    return best_recipe
