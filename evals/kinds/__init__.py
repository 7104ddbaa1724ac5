"""One module per case kind: ``ask`` (with retrieval-only cases and groundedness), ``compare``, ``brief``.

Each turns one case into a record (the JSON the results file stores) by running the
code users run; ``common`` holds what they share: the run context, the suite in progress
and the typed pieces of a record.
"""
