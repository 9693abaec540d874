"""Reading `.kt.meta` JSON with the path of each field, for errors that name it.

Why a module: every record of the schema (kt.compiler.formats.meta) checks its fields the same
way, and the one error a reader gets says where the first bad field is
(`.kt.meta: maps[2].agg: unknown aggregation 'foo'`).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from .value_types import Type, type_from_json

__all__ = ["MetaError"]


class MetaError(ValueError):
    """A `.kt.meta` that does not follow the schema; the message names the field."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f".kt.meta: {where}: {message}" if where else f".kt.meta: {message}")
        self.where = where


# ---- reading JSON with paths -------------------------------------------------------------------

_MISSING = object()


def _get(d: Mapping[str, Any], key: str, kind: type | tuple, where: str, default: Any = _MISSING) -> Any:
    """`d[key]` checked to be `kind` (bool is not an int here); `default` when absent."""
    if key not in d:
        if default is _MISSING:
            raise MetaError(where, f"missing '{key}'")
        return default
    v = d[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if v is None and type(None) in kinds:
        return v
    if not isinstance(v, kinds) or (isinstance(v, bool) and bool not in kinds):
        names = " or ".join("null" if k is type(None) else {"str": "a string", "int": "an integer",
                            "bool": "a boolean", "list": "a list", "dict": "an object"}[k.__name__]
                            for k in kinds)
        raise MetaError(_at(where, key), f"must be {names}, not {_json_name(v)}")
    return v


def _json_name(v: Any) -> str:
    if v is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(v), type(v).__name__)


def _at(where: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else key


def _only(d: Mapping[str, Any], keys: tuple[str, ...], where: str) -> None:
    for k in d:
        if k not in keys:
            raise MetaError(_at(where, k), "unknown field")


def _obj(v: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(v, dict):
        raise MetaError(where, f"must be an object, not {_json_name(v)}")
    return v


def _list(d: Mapping[str, Any], key: str, where: str, item: Callable[[Any, str], Any]) -> tuple:
    return tuple(item(v, _at(_at(where, key), i)) for i, v in enumerate(_get(d, key, list, where, [])))


def _strs(d: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    def one(v: Any, w: str) -> str:
        if not isinstance(v, str):
            raise MetaError(w, f"must be a string, not {_json_name(v)}")
        return v
    return _list(d, key, where, one)


def _type(v: Any, where: str) -> Type:
    try:
        return type_from_json(_obj(v, where))
    except MetaError:
        raise
    except (ValueError, TypeError) as err:
        raise MetaError(where, str(err)) from None


def _checked(where: str, make: Callable[[], Any]) -> Any:
    """A record whose __post_init__ checks it: its ValueError becomes a MetaError at `where`."""
    try:
        return make()
    except MetaError:
        raise
    except (ValueError, TypeError) as err:
        raise MetaError(where, str(err)) from None


