"""The task registry is the one table of tasks: every task is a folder that registers itself,
its parts follow one layout, and nothing outside ``rnnzoo/tasks/`` dispatches on a task name."""

import ast
from pathlib import Path

import pytest

from rnnzoo.tasks.base import TaskModel
from rnnzoo.tasks.registry import Task, get_task, register_task, task_names

PACKAGE = Path(__file__).resolve().parent.parent / "rnnzoo"
NAMES = ("classifier", "language_model", "seq2seq", "tagger")


def test_every_task_folder_is_registered_and_nothing_else():
    folders = sorted(p.name for p in (PACKAGE / "tasks").iterdir()
                     if (p / "__init__.py").is_file())
    assert task_names() == NAMES == tuple(folders)


@pytest.mark.parametrize("name", NAMES)
def test_each_task_has_a_recipe_a_task_object_and_a_serving_module(name):
    task = get_task(name)
    assert callable(task.recipe().train) and callable(task.recipe().evaluate)
    assert callable(task.recipe().training_setup) and callable(task.recipe().batch_tokens)
    assert task.recipe().BATCH_TOKENS
    assert issubclass(task.model_class(), TaskModel) and task.model_class().task == name
    assert callable(task.serving().serving_module)
    assert callable(task.serving().example_requests)
    assert task.headline_metrics


def test_an_unknown_task_names_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown task 'parser'; one of \['classifier', "):
        get_task("parser")


def test_a_task_name_is_registered_once():
    class Again(Task):
        name = "tagger"

    with pytest.raises(ValueError, match="a task needs a new name, got 'tagger'"):
        register_task(Again)


def _python_files(root: Path):
    return [p for p in root.rglob("*.py") if "tasks" not in p.relative_to(root).parts[:1]]


def test_no_task_name_is_a_dispatch_key_outside_the_task_folders():
    found = []
    for path in [*_python_files(PACKAGE), *(PACKAGE.parent / "benchmarks").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in NAMES:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.value!r}")
    assert found == []


def test_inference_code_never_imports_a_recipe():
    for name in NAMES:
        for part in ("task.py", "serving.py", "model.py", "preprocessing.py"):
            path = PACKAGE / "tasks" / name / part
            if not path.is_file():
                continue
            imported = [n.module for n in ast.walk(ast.parse(path.read_text()))
                        if isinstance(n, ast.ImportFrom)]
            imported += [f"{n.module}.{a.name}" for n in ast.walk(ast.parse(path.read_text()))
                         if isinstance(n, ast.ImportFrom) for a in n.names]
            assert not [m for m in imported if m and m.endswith(".recipe")], path
