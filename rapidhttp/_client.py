"""PLACEHOLDER: replaced by its owner. Keeps the package importable meanwhile."""
import typing
class AsyncClient:  # placeholder
    def __init__(self, *args: typing.Any, **kwargs: typing.Any) -> None:
        raise NotImplementedError
class Client:  # placeholder
    def __init__(self, *args: typing.Any, **kwargs: typing.Any) -> None:
        raise NotImplementedError
class UseClientDefault: pass
USE_CLIENT_DEFAULT = UseClientDefault()
