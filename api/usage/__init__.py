"""Usage: tokens and requests by key and model, read in OpenAI's usage API shape."""
