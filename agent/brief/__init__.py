"""The weekly brief: window -> themes -> TL;DRs -> syntheses -> highlights -> rendered brief.

``pipeline`` runs it; ``themes`` clusters and names, ``tldr`` summarises papers,
``reduce`` writes theme syntheses, ``caller`` counts and caches model calls,
``render`` and ``templates/`` write Markdown/HTML/JSON, ``weeks`` parses windows.
"""
