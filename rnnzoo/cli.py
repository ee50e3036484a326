"""The ``rnnzoo`` command line: parses, calls the library, prints."""

import click

from rnnzoo import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rnnzoo")
def main() -> None:
    """rnnzoo: a Keras 3 / TensorFlow model zoo of recurrent networks for NLP.

    Example: rnnzoo --version
    """
