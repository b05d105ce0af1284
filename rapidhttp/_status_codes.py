"""PLACEHOLDER: replaced by its owner. Keeps the package importable meanwhile."""
import typing
class codes:  # placeholder
    def __init__(self, *args: typing.Any, **kwargs: typing.Any) -> None:
        raise NotImplementedError
