"""Text classifiers: recurrent encoder, pooled, softmax over the labels."""

from rnnzoo.tasks.registry import Task, register_task


@register_task
class ClassifierTask(Task):
    name = "classifier"
    loads_as = "Classifier"
    headline_metrics = ("accuracy",)
