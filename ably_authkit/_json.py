"""The JSON this library writes and the strict JSON it reads.

Writing: credentials are built from a handful of strings and integers, so they are
assembled here from quoted strings instead of through ``json.dumps``. The quoting
functions are the C accelerators ``json.dumps`` itself uses, which keeps minting fast
and lets a cold process mint without importing :mod:`json` (and :mod:`re` behind it);
``benchmarks/cold_start.py`` measures that.

Reading: strict JSON only. ``NaN``/``Infinity`` and duplicate object keys are refused,
because the other side of the wire (Ably, JavaScript) would read them differently.
"""

from __future__ import annotations

try:
    # The functions json.dumps calls for ensure_ascii=False / True.
    from _json import encode_basestring as quote
    from _json import encode_basestring_ascii as quote_ascii
except ImportError:  # pragma: no cover - interpreters without the C accelerator
    from json.encoder import encode_basestring as quote
    from json.encoder import encode_basestring_ascii as quote_ascii

TYPE_CHECKING = False
if TYPE_CHECKING:
    import json

__all__ = [
    "DuplicateKeyError",
    "dumps_compact",
    "is_text",
    "json_type",
    "loads_strict",
    "quote",
    "quote_ascii",
    "show_json",
]


def is_text(value: str) -> bool:
    """Whether ``value`` is Unicode text, which UTF-8 can carry: no unpaired surrogate,
    which JSON text can spell (``"\\ud800"``) and a Python ``str`` can hold."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class DuplicateKeyError(ValueError):
    """An object in the JSON text names the same key twice."""

    def __init__(self, key: str) -> None:
        super().__init__(f"the key {key!r} appears twice in one object")
        self.key = key


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _pairs_to_dict(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKeyError(key)
        result[key] = value
    return result


_strict_decoder: json.JSONDecoder | None = None


def loads_strict(text: str | bytes) -> object:
    """Parse JSON text; raise ``ValueError`` (or a subclass) on anything but strict JSON."""
    global _strict_decoder
    if _strict_decoder is None:
        import json

        _strict_decoder = json.JSONDecoder(
            parse_constant=_refuse_constant, object_pairs_hook=_pairs_to_dict
        )
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return _strict_decoder.decode(text)


def json_type(value: object) -> str:
    """What a decoded JSON value is, in JSON's words (for messages about JSON input)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def show_json(value: object, limit: int = 40) -> str:
    """A decoded JSON value as JSON text, cut to ``limit`` characters, for a message."""
    import json

    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def dumps_compact(value: object) -> str:
    """Serialise a JSON value compactly (keys in the order given, ASCII-escaped)."""
    import json

    return json.dumps(value, separators=(",", ":"), allow_nan=False)
