"""What the parts of the tour share."""


def say(text: str) -> None:
    """Print a line of the tour's progress at once."""
    print(text, flush=True)
