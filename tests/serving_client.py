"""Loads SavedModel exports with TensorFlow alone (run as a fresh process by test_serving.py).

stdin: JSON ``{"exports": {KEY: {"dir": PATH, "requests": {SIGNATURE: {INPUT: LIST}}}}}``.
stdout: JSON ``{KEY: {"outputs": {SIGNATURE: {OUTPUT: LIST}}, "ops": [...], "unregistered":
[...], "warmup": [SIGNATURE, ...]}, "rnnzoo_imported": BOOL}``.
"""

import json
import sys

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.framework import op_def_registry

DTYPES = {"prompts": tf.string, "texts": tf.string, "sentences": tf.string, "sources": tf.string,
          "max_tokens": tf.int32, "temperature": tf.float32, "top_k": tf.int32, "seed": tf.int64}


def plain(value):
    value = value.numpy()
    if value.dtype == object:
        return np.vectorize(lambda b: b.decode("utf-8"), otypes=[object])(value).tolist()
    return value.tolist()


def op_types(path: str) -> set:
    saved = saved_model_pb2.SavedModel()
    with open(f"{path}/saved_model.pb", "rb") as f:
        saved.ParseFromString(f.read())
    ops = set()
    for graph in saved.meta_graphs:
        ops.update(node.op for node in graph.graph_def.node)
        functions = {f.signature.name for f in graph.graph_def.library.function}
        for function in graph.graph_def.library.function:
            ops.update(node.op for node in function.node_def)
    return ops - functions


def warmup(path: str, loaded) -> list:
    from tensorflow_serving.apis import prediction_log_pb2

    ran = []
    for raw in tf.data.TFRecordDataset(f"{path}/assets.extra/tf_serving_warmup_requests"):
        log = prediction_log_pb2.PredictionLog.FromString(raw.numpy())
        request = log.predict_log.request
        inputs = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
        loaded.signatures[request.model_spec.signature_name](**inputs)
        ran.append(request.model_spec.signature_name)
    return ran


def main() -> None:
    job = json.load(sys.stdin)
    result = {}
    for key, export in job["exports"].items():
        loaded = tf.saved_model.load(export["dir"])
        outputs = {}
        for signature, inputs in export["requests"].items():
            tensors = {k: tf.constant(v, DTYPES[k]) for k, v in inputs.items()}
            outputs[signature] = {k: plain(v)
                                  for k, v in loaded.signatures[signature](**tensors).items()}
        ops = op_types(export["dir"])
        result[key] = {"outputs": outputs, "ops": sorted(ops),
                       "unregistered": sorted(op for op in ops if op_def_registry.get(op) is None),
                       "signatures": sorted(loaded.signatures.keys()),
                       "warmup": warmup(export["dir"], loaded)}
    result["rnnzoo_imported"] = any(name.split(".")[0] == "rnnzoo" for name in sys.modules)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
