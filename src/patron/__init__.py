"""patron: the customer command center a Chief Customer Officer runs."""

__version__ = "0.1.0"
