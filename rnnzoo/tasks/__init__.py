"""Tasks: one package per task (builder, recipe, the object ``rnnzoo.load`` returns, serving),
listed by :mod:`rnnzoo.tasks.registry`."""
