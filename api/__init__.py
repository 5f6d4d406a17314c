"""The HTTP service: Flask under Gunicorn. It validates, stores, enqueues and reads; it never imports torch.

Kept empty on purpose: Gunicorn's config imports `api.settings` before it may let prometheus_client load.
"""
