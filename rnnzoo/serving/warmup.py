"""``assets.extra/tf_serving_warmup_requests``: TFRecord of ``PredictionLog`` protos, one real
request per signature, that TF Serving replays before it serves (so the first client does not
pay for the graph's warm-up)."""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

WARMUP_FILE = "tf_serving_warmup_requests"


def write_warmup(folder: Path, model_name: str, requests: dict[str, dict]) -> Path:
    """``requests``: signature name → its inputs (name → array); written under
    ``folder/assets.extra``."""
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    extra = folder / "assets.extra"
    extra.mkdir(exist_ok=True)
    path = extra / WARMUP_FILE
    with tf.io.TFRecordWriter(str(path)) as writer:
        for signature, inputs in requests.items():
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature))
            for key, value in inputs.items():
                request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
    return path


def read_warmup(path: str | Path) -> list:
    """The ``PredictionLog`` records of a warm-up file."""
    from tensorflow_serving.apis import prediction_log_pb2

    records = []
    for raw in tf.data.TFRecordDataset(str(path)):
        log = prediction_log_pb2.PredictionLog()
        log.ParseFromString(raw.numpy())
        records.append(log)
    return records
