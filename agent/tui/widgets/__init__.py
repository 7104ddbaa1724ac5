"""Reusable widgets: the answer view, the status and navigation bars."""
