"""The demo: a composition root outside the server that starts everything with a demo plant.

It uses the server (``backend``, ``tenancy``) and the on-site agent (``connectors``) as any
deployment would; nothing in them imports it (an import-linter contract checks this).
"""
