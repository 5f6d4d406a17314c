"""Webhooks: a POST to the client's callback_url when its task or batch ends, signed, retried, allowlisted."""
