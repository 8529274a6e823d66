"""A base for immutable value objects.

This is what ``@dataclass(frozen=True, slots=True, kw_only=True)`` gives, written out:
importing :mod:`dataclasses` (and :mod:`inspect` behind it) costs a cold process more
than everything else minting a JWT needs, and a serverless ``authUrl`` pays that on
every cold start (``benchmarks/cold_start.py`` measures it). Subclasses declare
``__slots__``, a typed keyword-only ``__init__`` that validates once and stores with
:meth:`_set`, and list the fields hidden from ``repr`` in ``_hidden``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar

    from typing_extensions import dataclass_transform

    _F = TypeVar("_F", bound="Frozen")
else:

    def dataclass_transform(**_: object) -> object:
        return lambda cls: cls


# Type checkers treat subclasses as frozen, keyword-only dataclasses: assigning a field is
# an error there too, as it is at run time. Each subclass keeps its own ``__init__``.
@dataclass_transform(frozen_default=True, kw_only_default=True)
class Frozen:
    __slots__ = ()
    #: Fields left out of ``repr`` (secrets).
    _hidden: frozenset[str] = frozenset()
    #: The public fields, in declaration order; private slots (caches) are not fields.
    _field_names: tuple[str, ...] = ()

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls._field_names = tuple(
            name
            for klass in reversed(cls.__mro__)
            for name in klass.__dict__.get("__slots__", ())
            if not name.startswith("_")
        )

    #: Store a field from ``__init__``: ``object.__setattr__``, bypassing the refusal below.
    _set = object.__setattr__

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self._field_names)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(
            f"{type(self).__name__} is immutable; make a changed copy with .replace({name}=...)"
        )

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Frozen) or type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name in self._field_names
            if name not in self._hidden
        )
        return f"{type(self).__name__}({shown})"

    def replace(self: _F, **changes: Any) -> _F:
        """A copy with some fields changed, validated like a new object."""
        fields = {name: getattr(self, name) for name in self._field_names}
        unknown = changes.keys() - fields.keys()
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {sorted(unknown)[0]!r}")
        fields.update(changes)
        cls: Any = type(self)
        return cls(**fields)  # type: ignore[no-any-return]

    __replace__ = replace  # copy.replace() on Python 3.13+

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), {name: getattr(self, name) for name in self._field_names}))


def _rebuild(cls: Any, fields: dict[str, Any]) -> Any:
    return cls(**fields)
