"""One module per group of ``paperbrief`` sub-commands; each exposes ``register(app)``."""
