"""`Record`: immutable value classes that cost next to nothing to define.

Why not `dataclasses`
---------------------
A frozen, slotted dataclass generates its methods as source text and compiles them:
about 0.5 ms per class, plus 1-1.5 ms to import `dataclasses` itself. A statusline
render is a new process every time, and those milliseconds were a tenth of its budget.
`Record` gives the same contract with methods written once, on the base class:

* fields are the class's annotations, in order, with defaults (or `field(...)` for a
  `default_factory` or ``repr=False``); the constructor takes them positionally or by
  name, exactly like a dataclass's;
* instances are immutable (assignment raises `FrozenInstanceError`, an
  `AttributeError`), slotted, equal when of the same class with equal fields, hashable
  from their fields, and `repr` as ``Name(a=1, b='x')``;
* ``obj.replace(**changes)`` is `dataclasses.replace`; `copy`, `pickle` and ``match``
  class patterns work.

Type checkers see a frozen dataclass (PEP 681 `dataclass_transform`), so `mypy --strict`
checks constructor calls and refuses assignments. Subclassing a record is not supported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Final, Self, dataclass_transform

__all__ = ["FrozenInstanceError", "Record", "field"]

_MISSING: Final[Any] = object()


class FrozenInstanceError(AttributeError):
    """Raised when a field of a record is assigned or deleted."""


class _Field:
    __slots__ = ("default", "factory", "repr")

    def __init__(self, default: Any, factory: Callable[[], Any] | None, repr: bool) -> None:
        self.default, self.factory, self.repr = default, factory, repr


def field(
    *,
    default: Any = _MISSING,
    default_factory: Callable[[], Any] | None = None,
    repr: bool = True,
) -> Any:
    """A field's default made by `default_factory`, or a field left out of `repr`."""
    return _Field(default, default_factory, repr)


class _RecordMeta(type):
    """Turns the annotations of a `Record` subclass into slots, defaults and a field list."""

    def __new__(
        mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any
    ) -> _RecordMeta:
        if "_fields" in namespace:  # the base class itself
            return super().__new__(mcs, name, bases, namespace, **kwargs)
        annotations: dict[str, Any] = namespace.get("__annotations__", {})
        fields = tuple(
            key for key, note in annotations.items() if "ClassVar" not in str(note).split("[")[0]
        )
        defaults: dict[str, Any] = {}
        factories: dict[str, Callable[[], Any]] = {}
        hidden: set[str] = set()
        for key in fields:
            value = namespace.pop(key, _MISSING)
            if isinstance(value, _Field):
                if not value.repr:
                    hidden.add(key)
                if value.factory is not None:
                    factories[key] = value.factory
                value = value.default
            if value is not _MISSING:
                defaults[key] = value
        namespace.update(
            __slots__=fields,
            __match_args__=fields,
            _fields=fields,
            _defaults=defaults,
            _factories=factories,
            _shown=tuple(key for key in fields if key not in hidden),
        )
        return super().__new__(mcs, name, bases, namespace, **kwargs)


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
class Record(metaclass=_RecordMeta):
    """The base of immutable value classes (see the module docstring)."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, Any]] = {}
    _factories: ClassVar[dict[str, Callable[[], Any]]] = {}
    _shown: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cls = type(self)
        fields = cls._fields
        if len(args) > len(fields):
            raise TypeError(
                f"{cls.__name__}() takes {len(fields)} positional arguments "
                f"but {len(args)} were given"
            )
        values = dict(zip(fields, args, strict=False))
        for key, value in kwargs.items():
            if key not in fields:
                raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {key!r}")
            if key in values:
                raise TypeError(f"{cls.__name__}() got multiple values for argument {key!r}")
            values[key] = value
        for key in fields:
            if key in values:
                value = values[key]
            elif key in cls._factories:
                value = cls._factories[key]()
            elif key in cls._defaults:
                value = cls._defaults[key]
            else:
                raise TypeError(f"{cls.__name__}() missing required argument: {key!r}")
            object.__setattr__(self, key, value)

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, key) for key in self._fields)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{key}={getattr(self, key)!r}" for key in self._shown)
        return f"{type(self).__qualname__}({shown})"

    def __setattr__(self, key: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {key!r}")

    def __delattr__(self, key: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {key!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self._values())

    def replace(self, **changes: Any) -> Self:
        """A copy with `changes` applied (`dataclasses.replace` for records)."""
        return type(self)(**{**dict(zip(self._fields, self._values(), strict=True)), **changes})

    __replace__ = replace  # copy.replace, from Python 3.13
