"""The ``rnnzoo`` command line: parses, calls the library, prints."""

import json

import click

from rnnzoo import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rnnzoo")
def main() -> None:
    """rnnzoo: a Keras 3 / TensorFlow model zoo of recurrent networks for NLP.

    Example: rnnzoo --version
    """


@main.command()
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.option("--data-dir", envvar="RNNZOO_DATA", type=click.Path(file_okay=False),
              help="Folder holding the corpora (default: $RNNZOO_DATA).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for checkpoints, the trained model, vocabulary and metrics.")
@click.option("--resume", is_flag=True, help="Continue from the last checkpoint in --out.")
def train(config: str, data_dir: str | None, out_dir: str, resume: bool) -> None:
    """Train a recipe (a zoo config) into OUT.

    Example: rnnzoo train zoo_configs/gru-lm.yaml --data-dir ../shared/data --out runs/gru-lm
    """
    from rnnzoo.training import recipe_module
    from rnnzoo.training.recipe import load_recipe

    recipe = load_recipe(config)
    metrics = recipe_module(recipe["task"]).train(recipe, data_dir, out_dir, resume=resume)
    click.echo(json.dumps(metrics, indent=2))
