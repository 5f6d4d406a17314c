"""Workers: the Dramatiq actor, its backends, and (in ``core``) the contracts shared with the api.

Importing this package must stay cheap: the api imports ``workers.core`` and never torch.
"""
