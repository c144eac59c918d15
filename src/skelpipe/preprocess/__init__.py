"""Raw bodies -> samples: denoise (actor selection), align, and the per-part chain (runner).

Imports io/ and the root modules only; body_frame lives in tokenizer/, its only user."""
