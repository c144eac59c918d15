"""Applications on top of the pipeline: prediction, model and reference data exports, pictures,
result tables. The top library layer: may import every other subpackage, none imports it."""
