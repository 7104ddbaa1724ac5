"""Checks every generated text passes before it is shown as generated: ``citations``
(every [n] points to a source), ``quality`` (loops, empties, junk), ``links`` (no link a
source lacks), ``rewrite`` (a quote-then-write sentence adds nothing to its quote),
``support`` (how well each sentence is backed by what it cites) and ``extractive`` (the
quoted fallback when a check fails)."""
