"""Errors shared across the package, in a module of their own so anything can import them."""


class UnsupportedInput(ValueError):
    """A storage method cannot hold this input. Raised before anything is written."""
