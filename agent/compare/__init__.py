"""Side-by-side comparison of papers: ``select`` finds them, ``pipeline`` fills the table,
``grounding`` checks each cell against its abstract."""
