"""dailypapers: a self-hostable Daily Papers."""

__version__ = "0.1.0"
