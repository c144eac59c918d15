"""The one training loop (run identity, checkpoints), data-parallel training, CPU runtime.

Imports store/ and classify/ (features, metrics); imports no architecture: callers pass the net."""
