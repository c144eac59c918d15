"""``python -m skelpipe.cli``: the ``skelpipe`` command."""

from skelpipe.cli.main import app

app()
