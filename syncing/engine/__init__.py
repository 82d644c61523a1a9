"""A page's way from Jira's answer to rows: prepare, plan, the page pipeline, the store, status and field history
derivation, relations, deferred history completion, prefetch, statistics and memory upkeep.
"""
