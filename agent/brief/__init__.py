"""The weekly brief: window -> themes -> TL;DRs -> syntheses -> highlights -> rendered brief.

``pipeline`` drives it; ``fetch`` fills an empty window, ``themes`` clusters and balances,
``labels`` names themes by key phrases, ``tldr``/``tldr_stage`` summarise papers, ``reduce``
writes theme syntheses, ``picks`` chooses and explains highlights and "For you", ``health``
writes the run-health line, ``tasks`` says what a small model is asked to do, ``assemble``
and ``work`` hold the records, ``caller`` counts and caches model calls, ``render`` and
``templates/`` write Markdown/HTML/JSON, ``weeks`` parses windows.
"""
