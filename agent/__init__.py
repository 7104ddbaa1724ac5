"""paperbrief's reasoning side: settings, LLM providers, answering, briefs, CLI and TUI."""

__version__ = "0.1.0"
