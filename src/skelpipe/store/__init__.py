"""The sample store: writer (shards), reader (SampleStore), benchmark splits, torch Dataset.

Below classify/ and training/: it imports io/ and the root modules, never a model or a loop."""
