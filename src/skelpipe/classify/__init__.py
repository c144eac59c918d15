"""Classification streams: input features, metrics, the ensemble, and a stream's outputs.

Outputs (scores by name, per-class accuracy) live here, not in training/, since the ensemble reads
them; training/ imports features and metrics from here, never the other way round."""
