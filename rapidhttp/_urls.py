"""PLACEHOLDER: replaced by its owner. Keeps the package importable meanwhile."""
import typing
class URL:  # placeholder
    def __init__(self, *args: typing.Any, **kwargs: typing.Any) -> None:
        raise NotImplementedError
class QueryParams:  # placeholder
    def __init__(self, *args: typing.Any, **kwargs: typing.Any) -> None:
        raise NotImplementedError
