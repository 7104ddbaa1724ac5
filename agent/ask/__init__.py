"""Grounded answers: retrieve, prompt, stream, check citations, fall back or abstain (``pipeline``);
small models write by quote-then-write (``quote_write``); every answer ends as checked sentences (``sentences``)."""
