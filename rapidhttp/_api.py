"""PLACEHOLDER: replaced by its owner. Keeps the package importable meanwhile."""
import typing
class _Placeholder:  # placeholder
    def __init__(self, *args: typing.Any, **kwargs: typing.Any) -> None:
        raise NotImplementedError
def _todo(*args: typing.Any, **kwargs: typing.Any) -> typing.Any:
    raise NotImplementedError
request = stream = get = options = head = post = put = patch = delete = _todo
