"""PLACEHOLDER: replaced by its owner. Keeps the package importable meanwhile."""
import typing
class Cookies:  # placeholder
    def __init__(self, *args: typing.Any, **kwargs: typing.Any) -> None:
        raise NotImplementedError
class Headers:  # placeholder
    def __init__(self, *args: typing.Any, **kwargs: typing.Any) -> None:
        raise NotImplementedError
class Request:  # placeholder
    def __init__(self, *args: typing.Any, **kwargs: typing.Any) -> None:
        raise NotImplementedError
class Response:  # placeholder
    def __init__(self, *args: typing.Any, **kwargs: typing.Any) -> None:
        raise NotImplementedError
