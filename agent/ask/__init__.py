"""Grounded answers: retrieve, prompt, stream, check citations, fall back or abstain (``pipeline``)."""
