"""Tenants in the api: which tenant a key belongs to, its prompt tokens counted, its budgets reserved."""
