"""Importing this module registers every serializable class of rnnzoo with Keras: the layers of
:mod:`rnnzoo.layers` and each task's own (its ``model.py`` and ``preprocessing.py``), so that
``keras.saving.load_model(path, safe_mode=True)`` reads any rnnzoo ``.keras`` file, the zoo's
raw-text models included. ``import rnnzoo`` imports it when Keras is already imported.

Example:

```python
import keras
import rnnzoo

model = keras.saving.load_model("saved_models/bilstm-spam/model.keras", safe_mode=True)
model(tf.constant(["Lunch at noon?"]))["label"]
```
"""

import importlib
import importlib.util

import rnnzoo.layers  # noqa: F401
from rnnzoo.tasks.registry import get_task, task_names

for _name in task_names():
    for _part in ("model", "preprocessing"):
        _module = f"{get_task(_name).package}.{_part}"
        if importlib.util.find_spec(_module) is not None:
            importlib.import_module(_module)
