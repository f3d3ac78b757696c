"""Errors shared across the package, in a module of their own so anything can import them."""


class UnsupportedInput(ValueError):
    """A storage method cannot hold this input. Raised before anything is written."""


class MissingLibrary(UnsupportedInput):
    """A method's optional library is not installed here, or cannot be imported: the method is skipped.

    The message names the library, why it cannot be used and how to install it.
    """


class DamagedStore(OSError):
    """A store on disk is not what was written: truncated, corrupted or partly missing.

    Raised instead of returning wrong images; the message names the store, the file and what is wrong.
    """


class IncompleteStore(DamagedStore):
    """A store without its completion marker: its write never finished, so nothing in it is trusted."""
