"""Shared test support: loopback servers speaking real protocols, fakes at the protocol boundary, fixtures."""
