"""The skeleton tokenizer: body frame, training and tokenize / decode, evaluation metrics,
saved model, token store and token stream (the architectures themselves live in models/)."""
