"""Mutation testing of the core modules (``make mutate``): cosmic-ray's mutants, each module
tried against its own test files only, in a copy of the tree. Each module's results go to
``benchmarks/mutation/MODULE.json``; the report, benchmarks/MUTATION.md, is made of all of them
(so ``--only`` reruns one module and the report stays whole).

For each module every mutant cosmic-ray's operators make is listed, ``--sample`` of them are
drawn with a fixed seed (``--seed``), and each drawn mutant is applied to the copy and the
module's tests run (``pytest -x``): killed when they fail, survived when they pass. Mutants that
cannot change behaviour are listed with the reason in ``mutation_equivalents.yaml`` (module,
line, operator and the mutated line) and left out of the kill rate:
killed / (drawn − equivalent − not applicable).

``--survivors`` tries again only the survivors of each module's last results (the same draw),
after tests were added to kill them.

Usage: python benchmarks/mutate.py [--sample 10] [--seed 0] [--only MODULE ...] [--survivors]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import shlex
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from pathlib import Path

import attrs
from cosmic_ray.commands.init import init
from cosmic_ray.mutating import mutate_and_test, mutate_code
from cosmic_ray.plugins import get_operator
from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import TestOutcome, WorkerOutcome

from rnnzoo.training.config import load_yaml
from rnnzoo.training.runs import cpu_name

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "mutation"
REPORT = ROOT / "benchmarks" / "MUTATION.md"
COPIED = ("rnnzoo", "tests", "zoo_configs", "examples", "docs", "setup.cfg", "pyproject.toml",
          "README.md", "Makefile")
LINKED = ("saved_models",)

MODULES = {
    "rnnzoo/layers/recurrence.py": ["tests/test_layers.py"],
    "rnnzoo/layers/cells.py": ["tests/test_layers.py"],
    "rnnzoo/layers/conversion.py": ["tests/test_layers.py"],
    "rnnzoo/layers/crf.py": ["tests/test_crf.py"],
    "rnnzoo/tasks/seq2seq/decoding.py": ["tests/test_seq2seq.py"],
    "rnnzoo/tasks/language_model/sampling.py": ["tests/test_language_model.py"],
    "rnnzoo/data/conll.py": ["tests/test_data.py"],
    "rnnzoo/data/vocab.py": ["tests/test_data.py"],
    "rnnzoo/zoo/manifest.py": ["tests/test_zoo.py", "tests/test_release.py"],
    "rnnzoo/training/checkpoints.py": ["tests/test_reliability.py"],
    "rnnzoo/serving/text_ops.py": ["tests/test_serving.py", "-k",
                                   "tokenisers or joiners or lowercasing"],
}
TIMEOUT = 900.0


def copy_tree(into: Path) -> Path:
    """The files the tests need, copied (the zoo's weights linked, never mutated)."""
    into.mkdir()
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, into / name)
    for name in LINKED:
        (into / name).symlink_to(ROOT / name)
    return into


def equivalents() -> dict[tuple[str, int, str, str], str]:
    """(module, line, operator, the mutated line) → why that mutant cannot change behaviour."""
    path = ROOT / "benchmarks" / "mutation_equivalents.yaml"
    entries = load_yaml(path.read_text(encoding="utf-8"), str(path)) or []
    return {(e["module"], int(e["line"]), e["operator"], e["mutated"]): e["reason"]
            for e in entries}


def mutated_line(spec) -> str:
    """The line ``spec`` mutates, as the mutant has it (stripped)."""
    operator = get_operator(spec.operator_name)(**spec.operator_args)
    mutated = mutate_code(Path(spec.module_path).read_text(encoding="utf-8"), operator,
                          spec.occurrence)
    return mutated.splitlines()[spec.start_pos[0] - 1].strip() if mutated else ""


def mutants(module: str, tree: Path) -> list:
    """Every mutant cosmic-ray's operators make of ``module`` (in ``tree``)."""
    session = tree / f".{Path(module).stem}.sqlite"
    with use_db(str(session), WorkDB.Mode.create) as db:
        init([tree / module], db, {})
        return list(db.work_items)


def try_mutant(spec, module: str, tests: list[str], tree: Path, known: dict) -> dict:
    """``spec`` applied to ``tree``'s copy of ``module`` and the tests run there."""
    spec = attrs.evolve(spec, module_path=tree / module)
    pytest = shlex.join([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                         "--no-header", *tests])
    command = shlex.join(["bash", "-c", f"cd {shlex.quote(str(tree))} && "
                          f"PYTHONPATH={shlex.quote(str(tree))} exec {pytest}"])
    began = time.monotonic()
    line, mutated = spec.start_pos[0], mutated_line(spec)
    reason = known.get((module, line, spec.operator_name, mutated), "")
    if reason:
        return {"line": line, "operator": spec.operator_name, "outcome": "equivalent",
                "mutated": mutated, "diff": "", "seconds": 0.0, "reason": reason}
    result = mutate_and_test([spec], command, TIMEOUT)
    if result.worker_outcome == WorkerOutcome.NO_TEST:
        outcome = "not applicable"
    elif result.worker_outcome != WorkerOutcome.NORMAL:
        outcome = f"error ({result.worker_outcome})"
    else:
        outcome = {TestOutcome.KILLED: "killed", TestOutcome.SURVIVED: "survived",
                   TestOutcome.INCOMPETENT: "killed"}[result.test_outcome]
    row = {"line": line, "operator": spec.operator_name, "outcome": outcome,
           "mutated": mutated,
           "diff": "\n".join((result.diff or "").splitlines()[2:]),
           "seconds": time.monotonic() - began, "reason": ""}
    print(f"{module}:{line} {spec.operator_name} {outcome} ({row['seconds']:.0f} s)", flush=True)
    return row


def drawn_specs(module: str, tree: Path, sample: int, seed: int) -> tuple[int, list]:
    """How many mutants the module has, and the ``sample`` drawn with ``seed``, in line order."""
    items = mutants(module, tree)
    drawn = random.Random(f"{seed}:{module}").sample(items, min(sample, len(items)))
    return len(items), sorted((item.mutations[0] for item in drawn),
                              key=lambda spec: spec.start_pos)


def try_all(specs: list, module: str, tests: list[str], trees: list[Path],
            known: dict) -> list[dict]:
    """Each mutant tried, ``len(trees)`` side by side (one tree a worker); rows in line order."""
    with ThreadPoolExecutor(len(trees)) as pool:
        parts = list(pool.map(
            lambda k: [try_mutant(spec, module, tests, trees[k], known)
                       for spec in specs[k::len(trees)]], range(len(trees))))
    return sorted((row for part in parts for row in part), key=lambda row: row["line"])


def run_module(module: str, tests: list[str], trees: list[Path], sample: int, seed: int,
               known: dict) -> dict:
    """``sample`` of the module's mutants (drawn with ``seed``), tried in ``trees``."""
    began = time.monotonic()
    count, specs = drawn_specs(module, trees[0], sample, seed)
    rows = try_all(specs, module, tests, trees, known)
    return {"module": module, "tests": tests, "mutants": count, "sample": sample,
            "seed": seed, "date": str(datetime.date.today()), "cpu": cpu_name(),
            "cores": os.cpu_count(), "python": platform.python_version(),
            "cosmic_ray": version("cosmic-ray"), "workers": len(trees),
            "minutes": (time.monotonic() - began) / 60, "rows": rows}


def row_key(row: dict) -> tuple[int, str, str]:
    """A result row's mutant: line, operator and the mutated line (from its diff)."""
    added = [line[1:].strip() for line in row["diff"].splitlines()
             if line.startswith("+") and not line.startswith("+++")]
    return row["line"], row["operator"], row.get("mutated") or (added[0] if added else "")


def recheck(result: dict, trees: list[Path], known: dict) -> dict:
    """The module's survivors (the same draw) tried again, against today's tests; the other
    rows kept. Equivalents named since are marked as such."""
    module, tests = result["module"], MODULES[result["module"]]
    _, specs = drawn_specs(module, trees[0], result["sample"], result["seed"])
    rows = {row_key(row): row for row in result["rows"]}
    survived = {key for key, row in rows.items() if row["outcome"] == "survived"}
    again = try_all([spec for spec in specs if (spec.start_pos[0], spec.operator_name,
                                                 mutated_line(spec)) in survived],
                    module, tests, trees, known)
    for row in again:
        rows[row_key(row)] = row
    return {**result, "tests": tests, "rechecked": str(datetime.date.today()),
            "rows": sorted(rows.values(), key=lambda row: row["line"])}


def result_file(module: str) -> Path:
    return RESULTS / (module.removeprefix("rnnzoo/").removesuffix(".py").replace("/", ".")
                      + ".json")


def kill_rate(result: dict) -> tuple[int, int, float]:
    counted = [r for r in result["rows"] if r["outcome"] in ("killed", "survived")]
    killed = sum(r["outcome"] == "killed" for r in counted)
    return killed, len(counted), killed / len(counted) if counted else 1.0


def report(results: list[dict]) -> str:
    """The Markdown report of the modules' results."""
    runs = sorted({(r["date"], r["cpu"], r["cores"], r["python"], r["cosmic_ray"], r["sample"],
                    r["seed"]) for r in results})
    lines = ["# Mutation testing of the core modules", "",
             "Written by `make mutate` (benchmarks/mutate.py; one JSON a module in "
             "benchmarks/mutation/). Each module's drawn mutants were run against its own test "
             "files (`pytest -x`), in these runs:", ""]
    lines += [f"- {date}: {cpu}, {cores} cores, Python {python}, cosmic-ray {tool}; {sample} "
              f"mutants drawn per module with seed {seed}"
              for date, cpu, cores, python, tool, sample, seed in runs]
    lines += [
        "", "Kill rate = killed / (drawn − equivalent − not applicable); a mutant whose tests "
        "error out (incompetent) counts as killed. Equivalent mutants are listed with the "
        "reason in benchmarks/mutation_equivalents.yaml.", "",
        "| module | tests | mutants | drawn | killed | survived | equivalent | kill rate | "
        "minutes |", "|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        killed, counted, rate = kill_rate(result)
        equivalent = sum(r["outcome"] == "equivalent" for r in result["rows"])
        lines.append(f"| {result['module']} | {' '.join(Path(t).name for t in result['tests'])} "
                     f"| {result['mutants']} | {len(result['rows'])} | {killed} | "
                     f"{counted - killed} | {equivalent} | {100 * rate:.0f} % | "
                     f"{result['minutes']:.0f} |")
    for kind in ("survived", "equivalent"):
        shown = [(res["module"], row) for res in results for row in res["rows"]
                 if row["outcome"] == kind]
        lines += ["", f"## {kind.capitalize()} ({len(shown)})", ""]
        for module, row in shown:
            lines.append(f"- `{module}:{row['line']}` {row['operator']}"
                         + (f": {row['reason']}" if row["reason"] else ""))
            if row["diff"]:
                lines += ["", "```diff", *row["diff"].splitlines(), "```", ""]
            else:
                lines.append(f"  (mutated line: `{row['mutated']}`)")
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", choices=sorted(MODULES), default=None)
    parser.add_argument("--workers", type=int, default=2, help="mutants tried side by side")
    parser.add_argument("--survivors", action="store_true",
                        help="only try again the survivors of the modules' last results")
    args = parser.parse_args()
    known = equivalents()
    RESULTS.mkdir(exist_ok=True)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["HYPOTHESIS_PROFILE"] = "mutate"
    with tempfile.TemporaryDirectory(prefix="rnnzoo-mutate-") as tmp:
        trees = [copy_tree(Path(tmp) / str(k)) for k in range(args.workers)]
        for module in args.only or MODULES:
            if args.survivors:
                if not result_file(module).exists():
                    continue
                result = recheck(json.loads(result_file(module).read_text()), trees, known)
            else:
                result = run_module(module, MODULES[module], trees, args.sample, args.seed,
                                    known)
            result_file(module).write_text(json.dumps(result, indent=1) + "\n",
                                           encoding="utf-8")
    results = [json.loads(result_file(m).read_text()) for m in MODULES if result_file(m).exists()]
    REPORT.write_text(report(results), encoding="utf-8")
    print(f"wrote {REPORT}")


if __name__ == "__main__":
    main()
