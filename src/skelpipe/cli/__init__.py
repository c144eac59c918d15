"""The ``skelpipe`` user commands (``main.app``): validate, export, predict, show, ... (not stages).

The one subpackage that imports typer / yaml; it shares stages/_common.py (params, clean exit)."""
