"""The one exception type for mistakes a user can make (bad file, bad parameter)."""


class DenoiserError(Exception):
    """A problem with the user's input, reported as one clear line at the edge (CLI, page)."""
