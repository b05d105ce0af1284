"""PLACEHOLDER: replaced by its owner. Keeps the package importable meanwhile."""
import typing
class Limits:  # placeholder
    def __init__(self, *args: typing.Any, **kwargs: typing.Any) -> None:
        raise NotImplementedError
class Proxy:  # placeholder
    def __init__(self, *args: typing.Any, **kwargs: typing.Any) -> None:
        raise NotImplementedError
class Timeout:  # placeholder
    def __init__(self, *args: typing.Any, **kwargs: typing.Any) -> None:
        raise NotImplementedError
def create_ssl_context(*args: typing.Any, **kwargs: typing.Any) -> typing.Any: raise NotImplementedError
