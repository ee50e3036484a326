"""Training: task-free machinery that each task's recipe calls — config schemas
(:mod:`~rnnzoo.training.config`), run folders (:mod:`~rnnzoo.training.runs`), atomic checkpoints
with resume (:mod:`~rnnzoo.training.checkpoints`), run options and distribution strategies
(:mod:`~rnnzoo.training.options`), the user's own data files (:mod:`~rnnzoo.training.datafiles`).

Every task's recipe (``rnnzoo/tasks/<task>/recipe.py``, found with
:func:`rnnzoo.tasks.registry.get_task`) has ``train(recipe, data_dir, out_dir, resume=False) ->
metrics`` and ``evaluate(run_dir, data_dir, split) -> metrics``. A run folder holds
``model.keras``, ``config.yaml`` (the recipe, with the sizes the data fixed), the vocabulary
files, ``metrics.json`` (``{split: {metric: value}}``), ``history.json`` and ``checkpoints/``.
"""
