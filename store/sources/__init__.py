"""Sources: one module per input format or remote API, each turning bytes into Papers."""
