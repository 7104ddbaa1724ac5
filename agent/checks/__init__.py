"""Checks every generated text passes before it is shown as generated: ``citations``
(every [n] points to a source), ``quality`` (loops, empties, junk) and ``extractive``
(the quoted fallback when a check fails)."""
