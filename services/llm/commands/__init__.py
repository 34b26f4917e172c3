"""The llm service's application layer: tasks planned from events, run, and read."""
