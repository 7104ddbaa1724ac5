"""paperbrief's data side: sources, paper records, chunks, embeddings, index and retrieval.

Nothing here imports ``agent``: the reasoning side depends on the data side, never the
other way round.
"""
