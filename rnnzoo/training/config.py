"""Validation of builder configurations: the plain dicts that ``zoo_configs/*.yaml`` hold.

Each builder declares a schema, ``{key: Field(...)}``; :func:`validate` returns the config with
defaults filled in, or raises :class:`ConfigError` naming the offending key: an unknown key (with
the allowed ones), a missing required key, a wrong type, or an impossible value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

_MISSING = object()


class ConfigError(ValueError):
    """A configuration key is unknown, missing, of the wrong type or out of range."""


@dataclass(frozen=True)
class Field:
    """One key of a schema.

    ``kind``: a type or tuple of types (``bool`` is never accepted for ``int``/``float``, and an
    ``int`` is accepted for ``float``); ``choices``: allowed values; ``low``/``high``: inclusive
    bounds (``high_open``: ``high`` itself excluded); ``check``: a predicate with its message;
    ``doc``: what the key means, for ``docs/RECIPES.md``.
    """

    kind: type | tuple[type, ...]
    default: Any = _MISSING
    choices: Sequence[Any] | None = None
    low: float | None = None
    high: float | None = None
    high_open: bool = False
    nullable: bool = False
    check: tuple[Callable[[Any], bool], str] | None = None
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is _MISSING


def _type_ok(value: Any, kind: type | tuple[type, ...]) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        return False
    if float in kinds and isinstance(value, int):
        return True
    return isinstance(value, kinds)


def _type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def check_value(name: str, value: Any, field: Field) -> Any:
    """Returns ``value`` if it satisfies ``field``, else raises :class:`ConfigError`."""
    if value is None and field.nullable:
        return value
    if not _type_ok(value, field.kind):
        raise ConfigError(
            f"{name}: expected {_type_name(field.kind)}, got {type(value).__name__} {value!r}"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{name}: must be a finite number, got {value!r}")
    if field.choices is not None and value not in field.choices:
        raise ConfigError(f"{name}: must be one of {list(field.choices)}, got {value!r}")
    if field.low is not None and value < field.low:
        raise ConfigError(f"{name}: must be >= {field.low}, got {value!r}")
    if field.high is not None and (value >= field.high if field.high_open else value > field.high):
        bound = "<" if field.high_open else "<="
        raise ConfigError(f"{name}: must be {bound} {field.high}, got {value!r}")
    if field.check is not None and not field.check[0](value):
        raise ConfigError(f"{name}: {field.check[1]}, got {value!r}")
    return value


def validate(config: Mapping[str, Any], schema: Mapping[str, Field], where: str) -> dict:
    """``config`` checked against ``schema``, defaults filled in; ``where`` prefixes messages."""
    if not isinstance(config, Mapping):
        raise ConfigError(f"{where}: the configuration must be a mapping, got {type(config).__name__}")
    unknown = sorted(set(config) - set(schema))
    if unknown:
        raise ConfigError(
            f"{where}.{unknown[0]}: unknown key (allowed: {', '.join(sorted(schema))})"
        )
    result = {}
    for key, field in schema.items():
        name = f"{where}.{key}"
        if key in config:
            result[key] = check_value(name, config[key], field)
        elif field.required:
            raise ConfigError(f"{name}: required key is missing")
        else:
            result[key] = field.default
    return result


CELLS = ("rnn", "lstm", "gru")
IMPLEMENTATIONS = ("explicit", "builtin")
PROBABILITY = dict(kind=float, low=0.0, high=1.0, high_open=True)

MAX_YAML_BYTES = 1 << 20
MAX_YAML_DEPTH = 16
MAX_YAML_STRING = 4096


class _NoAliasLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses anchors and aliases (a few aliased lines can expand
    into gigabytes: "billion laughs") and collections nested deeper than MAX_YAML_DEPTH."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise ConfigError(f"{self.where}:{line}: YAML anchors and aliases (&name, *name) are "
                              "not allowed; write each value out")
        if isinstance(event, yaml.CollectionStartEvent):
            self.depth += 1
            if self.depth > MAX_YAML_DEPTH:
                raise ConfigError(f"{self.where}:{line}: nested deeper than {MAX_YAML_DEPTH} "
                                  "levels")
        node = super().compose_node(parent, index)
        if isinstance(node, yaml.CollectionNode):
            self.depth -= 1
        elif isinstance(node, yaml.ScalarNode) and len(node.value) > MAX_YAML_STRING:
            raise ConfigError(f"{self.where}:{line}: a value of {len(node.value)} characters; "
                              f"at most {MAX_YAML_STRING}")
        return node


class _NoAliasDumper(yaml.SafeDumper):
    """Writes a value shared by two keys out twice instead of as an anchor and an alias, so
    that :func:`load_yaml` reads back whatever rnnzoo writes."""

    def ignore_aliases(self, data):
        return True


def dump_yaml(data: Any) -> str:
    """``data`` as YAML that :func:`load_yaml` accepts (keys in order, no aliases)."""
    return yaml.dump(data, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True)


def load_yaml(text: str, where: str) -> Any:
    """The YAML document ``text`` as plain data (``safe_load``'s types), read without anchors
    or aliases and within MAX_YAML_BYTES, MAX_YAML_DEPTH and MAX_YAML_STRING; any other
    outcome is a :class:`ConfigError` starting with ``where`` (the file's name)."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_YAML_BYTES:
        raise ConfigError(f"{where}: larger than {MAX_YAML_BYTES} bytes; not a recipe")
    loader = _NoAliasLoader(text)
    loader.where, loader.depth = where, 0
    try:
        return loader.get_single_data()
    except yaml.YAMLError as error:
        raise ConfigError(f"{where}: not valid YAML ({error})") from None
    finally:
        loader.dispose()
