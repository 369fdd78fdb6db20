"""A close package's figures (`CloseData`) as JSON text and back, exactly, for the copy frozen at lock.

Generic over the dataclasses: every field is written by name, and read back by the type its
annotation gives (nested dataclasses, tuples, lists, dicts, unions with None, `date`, `datetime`,
`Decimal`, enums), so a field added to `CloseData` or any dataclass inside it is frozen without a
change here. What the annotations cannot carry exactly is refused when freezing (`encode` checks
that the text reads back equal), never found out later as a package that renders differently.
A copy whose fields no longer fit the dataclasses (written by a version with another layout) is
refused naming the field.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import types
import typing
from datetime import date, datetime
from decimal import Decimal

from exporters.close_package.close_data import CloseData, CloseDataError


class FrozenDataError(CloseDataError):
    """Figures that cannot be frozen exactly, or a frozen copy that does not fit the dataclasses."""


def encode(data: CloseData) -> str:
    """`data` as JSON text that `decode` turns back into an equal `CloseData`."""
    text = json.dumps(_plain(data), ensure_ascii=False, separators=(",", ":"))
    if decode(text) != data:
        raise FrozenDataError(f"the close package of {data.entity_id} {data.period} does not read back equal once frozen: "
                              "a field's annotation does not say its type")
    return text


def decode(text: str) -> CloseData:
    return _typed(json.loads(text), CloseData, "CloseData")


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: _plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return [[_plain(key), _plain(item)] for key, item in value.items()]
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, (str, int, float)):
        return value
    raise FrozenDataError(f"cannot freeze a {type(value).__name__} ({value!r}): close package figures are dataclasses, "
                          "tuples, lists, dicts, str, int, bool, Decimal, date, datetime or None")


@functools.cache
def _hints(cls: type) -> dict[str, object]:
    return typing.get_type_hints(cls)


def _typed(value: object, annotation: object, where: str) -> object:
    """`value` (as `_plain` wrote it) as the type `annotation` says; `where` names it in errors."""
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is typing.Any or annotation is object:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in arguments:
            return None
        for argument in (argument for argument in arguments if argument is not type(None)):
            try:
                return _typed(value, argument, where)
            except (FrozenDataError, TypeError, ValueError):
                continue
        raise FrozenDataError(f"{where}: {value!r} is none of {annotation}")
    if origin is typing.Literal:
        if value not in arguments:
            raise FrozenDataError(f"{where}: {value!r} is not one of {arguments}")
        return value
    if dataclasses.is_dataclass(annotation):
        return _dataclass(value, annotation, where)
    if origin in (tuple, list):
        _expect(value, list, where)
        if origin is tuple and not (len(arguments) == 2 and arguments[1] is Ellipsis):
            if len(value) != len(arguments):
                raise FrozenDataError(f"{where}: {len(value)} items where {annotation} has {len(arguments)}")
            return tuple(_typed(item, argument, f"{where}[{index}]") for index, (item, argument) in enumerate(zip(value, arguments)))
        items = [_typed(item, arguments[0] if arguments else typing.Any, f"{where}[{index}]") for index, item in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        _expect(value, list, where)
        key_type, item_type = arguments or (typing.Any, typing.Any)
        return {_typed(key, key_type, f"{where} key"): _typed(item, item_type, f"{where}[{key!r}]") for key, item in value}
    if annotation is type(None):
        if value is not None:
            raise FrozenDataError(f"{where}: {value!r} where None was expected")
        return None
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return annotation(value)
    if annotation is datetime:
        return datetime.fromisoformat(_expect(value, str, where))
    if annotation is date:
        return date.fromisoformat(_expect(value, str, where))
    if annotation is Decimal:
        return Decimal(_expect(value, str, where))
    if annotation is bool:
        return _expect(value, bool, where)
    if annotation is int:
        if isinstance(value, bool):
            raise FrozenDataError(f"{where}: {value!r} where an int was expected")
        return _expect(value, int, where)
    if annotation is float:
        return float(_expect(value, (int, float), where))
    if annotation is str:
        return _expect(value, str, where)
    raise FrozenDataError(f"{where}: cannot read a frozen {annotation}")


def _dataclass(value: object, cls: type, where: str) -> object:
    _expect(value, dict, where)
    fields = {field.name: field for field in dataclasses.fields(cls) if field.init}
    unknown = sorted(set(value) - set(fields))
    missing = sorted(name for name, field in fields.items() if name not in value
                     and field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING)
    if unknown or missing:
        raise FrozenDataError(
            f"{where} was frozen with another layout of {cls.__name__}: "
            + "; ".join(part for part in (f"fields no longer known: {', '.join(unknown)}" if unknown else "",
                                          f"fields missing: {', '.join(missing)}" if missing else "") if part)
        )
    hints = _hints(cls)
    return cls(**{name: _typed(item, hints[name], f"{where}.{name}") for name, item in value.items()})


def _expect(value: object, kind: type | tuple[type, ...], where: str) -> typing.Any:
    if not isinstance(value, kind):
        raise FrozenDataError(f"{where}: {value!r} where a {kind} was expected")
    return value
