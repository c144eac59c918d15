"""DVC stage entry points, one per stage: `python -m stages.<name>` (see dvc.yaml)."""
