"""Question batches: ``io`` reads questions and appends answers crash-safely, ``run`` answers them."""
