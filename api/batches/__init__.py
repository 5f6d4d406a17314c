"""OpenAI's Batch API: uploaded files, batches of their lines run on the offline lane, and result files."""
