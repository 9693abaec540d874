"""kt package."""
