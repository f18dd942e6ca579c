"""One exception type for every mistake a user can fix, so the CLI can print it in one line."""


class EmbedlabError(Exception):
    """A problem with user input (config, data file, vector file) that the message explains how to fix."""
