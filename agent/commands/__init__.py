"""CLI command groups, one module each; ``agent.cli`` registers them."""
