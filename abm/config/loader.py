"""Load scenarios from YAML: safe parsing, inheritance, dotted overrides, readable errors.

Every failure becomes one `ConfigError` whose message names the file or dotted key, the
offending value and what is allowed, so the CLI can print it and exit 2 before any run.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from abm.config.schema import Scenario

MAX_EXTENDS_DEPTH = 8
MAX_FILE_BYTES = 2_000_000


class ConfigError(ValueError):
    """A config could not be read or validated; the message is meant for the user."""


class _StrictSafeLoader(yaml.SafeLoader):
    """The safe loader, refusing duplicate keys (the last would silently win) and aliases
    (a few hundred bytes of nested aliases can expand to millions of nodes)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(
                None,
                None,
                "aliases (*name) are not allowed in configs; use 'extends' to share values",
                event.start_mark,
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, yaml.MappingNode):  # `!!set [a]`, `!!map [a]`: PyYAML's own error says so
            return super().construct_mapping(node, deep=deep)
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:  # `? [a, b]`: a list or mapping as a key
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    "a mapping key that is a list, a set or a mapping; keys must be text or numbers",
                    key_node.start_mark,
                ) from None
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    "duplicate key (the earlier value would be silently dropped)",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _checked_scalar(kind: str) -> Any:
    """PyYAML's constructor of an explicit `!!kind` tag, whose own checks assume implicit text:
    `!!bool x` (KeyError), `!!int ''` (IndexError), `!!timestamp x` (AttributeError) become
    a ConstructorError at the value."""
    build = getattr(yaml.SafeLoader, f"construct_yaml_{kind}")

    def construct(loader: _StrictSafeLoader, node: yaml.Node) -> Any:
        try:
            return build(loader, node)
        except (AttributeError, IndexError, KeyError, TypeError):
            raise yaml.constructor.ConstructorError(
                None, None, f"not a valid value for its tag !!{kind}", node.start_mark
            ) from None

    return construct


for _kind in ("bool", "int", "float", "timestamp"):
    _StrictSafeLoader.add_constructor(f"tag:yaml.org,2002:{_kind}", _checked_scalar(_kind))


def safe_parse(text: str) -> Any:
    """YAML text to Python values with the strict safe loader.

    Raises only `yaml.YAMLError`, `ValueError` (dates like 2020-13-01, ints over 4300 digits)
    and `RecursionError` (deep nesting), which every caller turns into one message."""
    try:
        return yaml.load(text, Loader=_StrictSafeLoader)
    except (AttributeError, IndexError, KeyError, TypeError) as exc:  # a constructor we did not foresee
        raise yaml.constructor.ConstructorError(
            None, None, f"a value YAML cannot build ({type(exc).__name__})", None
        ) from None


ALLOW_OUTSIDE_ENV = "ABM_ALLOW_OUTSIDE_PATHS"
ALLOW_OUTSIDE_FLAG = "--allow-outside-paths"
_allow_outside = False


def allow_outside_paths(allow: bool) -> bool:
    """Lift (True) or restore (False) the path rule of `check_named_path`; returns the previous setting.

    The CLI's `--allow-outside-paths` sets it for one command; `ABM_ALLOW_OUTSIDE_PATHS=1` lifts it too."""
    global _allow_outside
    previous, _allow_outside = _allow_outside, bool(allow)
    return previous


def outside_paths_allowed() -> bool:
    return _allow_outside or os.environ.get(ALLOW_OUTSIDE_ENV, "").strip().lower() in ("1", "true", "yes")


def home_tree(naming_file: str | Path) -> Path:
    """The tree a file may name paths in: the folder above its own folder (siblings such as
    configs/history/ and configs/ share a base), or its own folder when the one above is the
    filesystem root or a top-level folder (/tmp, /home), which would open the whole machine."""
    folder = Path(naming_file).parent.resolve()
    return folder.parent if len(folder.parent.parts) >= 3 else folder


def check_named_path(
    naming_file: str | Path, key: str, value: str, target: str | Path, extra_roots: Sequence[str | Path] = ()
) -> Path:
    """`target` (the path `value` of `key` in `naming_file`, already joined) resolved after symlinks,
    if it lies inside the working directory's tree, the naming file's `home_tree` or `extra_roots`.

    Otherwise a ConfigError naming the key, the path and the rule (nothing is read), unless
    `--allow-outside-paths` or ABM_ALLOW_OUTSIDE_PATHS=1 lifted the rule."""
    resolved = Path(target).resolve()
    if outside_paths_allowed():
        return resolved
    cwd, home = Path.cwd().resolve(), home_tree(naming_file)
    roots = [cwd, home, *(Path(r).resolve() for r in extra_roots)]
    if any(resolved.is_relative_to(root) for root in roots):
        return resolved
    also = "".join(f", {Path(r).resolve()}" for r in extra_roots)
    raise ConfigError(
        f"{naming_file}: {key}: {_short(value, 120)} resolves to {resolved}, outside the working directory "
        f"({cwd}) and the file's tree ({home}{also}); a path named in a config must stay inside one of them "
        f"(docs/RELIABILITY.md, 'Path safety'). To read it anyway: abm {ALLOW_OUTSIDE_FLAG} COMMAND ..., "
        f"or {ALLOW_OUTSIDE_ENV}=1"
    )


def _no_quotes(text: str) -> str:
    """A parser message with its quoted parts (text of the file: a character, a token, a tag) removed;
    a Python object tag is named by its kind only."""
    text = re.sub(  # the family (python/object/apply) is PyYAML's vocabulary; what follows it is the file's
        r"'tag:yaml\.org,2002:(python/[a-z/]*)[^'\n]*'", r"!!\1… (tags that build Python objects are refused)", text
    )
    return re.sub(r"'[^'\n]*'|\"[^\"\n]*\"", "…", text)[:200]


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Parse a YAML mapping with the safe loader; tags that build Python objects are refused.

    Until the file has parsed into a mapping, no message quotes its text: a parse error says
    where (line, column) and what kind of problem, never the line itself."""
    p = Path(path)
    try:
        is_file = p.is_file()
    except OSError as exc:  # a name the file system refuses (too long): say so without echoing all of it
        raise ConfigError(f"{_cut(str(p), 200)}: not a usable file name ({exc.strerror})") from None
    if not is_file:
        if p.is_dir():
            raise ConfigError(f"{p}: is a folder, not a config file; give the path of a .yaml file")
        if p.exists():  # /dev/null, a pipe, a socket: nothing a config can be read from twice
            raise ConfigError(f"{p}: is a device or special file, not a config file; give the path of a .yaml file")
        raise ConfigError(f"{p}: no such file")
    if p.stat().st_size > MAX_FILE_BYTES:
        raise ConfigError(f"{p}: file is larger than {MAX_FILE_BYTES} bytes; is it really a config?")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        data = safe_parse(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        pos = f" (line {where.line + 1}, column {where.column + 1})" if where else ""
        problem = getattr(exc, "problem", None) or (str(exc).splitlines() or ["not YAML"])[0]
        raise ConfigError(f"{p}: invalid YAML{pos}: {_no_quotes(problem)}") from None
    except ValueError as exc:  # PyYAML's own constructors: dates like 2020-13-01, ints over 4300 digits
        raise ConfigError(f"{p}: invalid YAML value: {_no_quotes(str(exc))}") from None
    except RecursionError:
        raise ConfigError(f"{p}: nesting too deep to be a config") from None
    if data is None:
        raise ConfigError(f"{p}: the file is empty (a truncated copy or the wrong path?)")
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: top level must be a mapping of keys, got {type(data).__name__}")
    return data


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `override` into a copy of `base`; mappings merge key by key, anything else replaces."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def resolve_raw(path: str | Path, _depth: int = 0) -> dict[str, Any]:
    """Read a config and the chain of configs it `extends`, merged parent first."""
    if _depth > MAX_EXTENDS_DEPTH:
        raise ConfigError(f"{path}: 'extends' chain deeper than {MAX_EXTENDS_DEPTH} (a cycle?)")
    raw = read_yaml(path)
    parent = raw.pop("extends", None)
    # Version-1 blocks are left to reject_old_format, which says how to convert them.
    refuse_unknown_keys(raw, (*TOP_LEVEL, *OLD_STATE_BLOCKS), path, "a scenario config")
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise ConfigError(f"{path}: 'extends' must be a file name, got {_short(parent)}")
    parent_path = check_named_path(path, "extends", parent, Path(path).parent / parent)
    return deep_merge(resolve_raw(parent_path, _depth + 1), raw)


def parse_assignment(text: str) -> tuple[str, Any]:
    """Split `dotted.key=value`; the value is parsed as a YAML scalar or list (safe loader)."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {_shown(text)}: expected KEY=VALUE, e.g. us.doctrine=massive")
    return key, parse_value(value, "--set", text, fallback=True)


def parse_assignments(items: Iterable[str]) -> dict[str, Any]:
    """Several `--set KEY=VALUE`: a key given twice with different values is one error, not "last wins"
    (which would run one value while the command line shows both)."""
    out: dict[str, Any] = {}
    for item in items:
        key, value = parse_assignment(item)
        if key in out and (type(out[key]) is not type(value) or out[key] != value):
            raise ConfigError(
                f"--set {_cut(key)}: given twice ({_short(out[key])}, then {_short(value)}); allowed: each key once"
            )
        out[key] = value
    return out


def _one_value_per_key(raw: Mapping[str, Any], keys: Iterable[str]) -> None:
    """Two spellings of one key (`us.doctrine`, `states.us.doctrine`) set at once would have the later win."""
    seen: dict[str, str] = {}
    for key in keys:
        canonical = canonical_key(raw, key)
        if canonical in seen and seen[canonical] != key:
            raise ConfigError(
                f"--set {_cut(key)}: the same key as {_cut(seen[canonical])} ({_cut(canonical)}); "
                "allowed: each key once"
            )
        seen[canonical] = key


# Command-line values (--set, --grid, --lever, --lhs, --param): far larger than any real value,
# small enough that parsing one is instant (docs/RELIABILITY.md, "Upper bounds").
MAX_VALUE_CHARS = 10_000
MAX_VALUE_DEPTH = 20


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 60 else f"{text[:40]!r}... ({len(text):,} characters)"


def _flow_depth(text: str) -> int:
    """Deepest nesting of [ and { outside quotes, counted without parsing."""
    depth = deepest = 0
    quote = ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
    return deepest


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of parsed lists and mappings, stopping once past `limit`."""
    if limit < 0 or not isinstance(value, list | dict):
        return 0
    items = value.values() if isinstance(value, dict) else value
    return 1 + max((_depth(v, limit - 1) for v in items), default=0)


def check_value_text(text: str, flag: str) -> None:
    """Refuse a command-line value that is too long or nested too deep, before parsing it."""
    if len(text) > MAX_VALUE_CHARS:
        raise ConfigError(f"{flag} {_shown(text)}: too long; allowed: at most {MAX_VALUE_CHARS:,} characters")
    if _flow_depth(text) > MAX_VALUE_DEPTH:
        raise ConfigError(f"{flag} {_shown(text)}: nested too deep; allowed: at most {MAX_VALUE_DEPTH} levels")


def parse_value(value: str, flag: str, whole: str, *, fallback: bool = False) -> Any:
    """One command-line value (the VALUE of KEY=VALUE in `whole`) as YAML, with the strict loader:
    no aliases, no duplicate keys, at most MAX_VALUE_CHARS characters and MAX_VALUE_DEPTH levels.

    Text that is not valid YAML is returned as written when `fallback` (--set, --lever), else refused."""
    check_value_text(whole, flag)
    if not value.strip():
        return ""
    try:
        parsed = safe_parse(value)
    except yaml.constructor.ConstructorError as exc:
        if "aliases" in str(exc.problem):
            raise ConfigError(
                f"{flag} {_shown(whole)}: YAML aliases (*name) are not allowed in command-line values; "
                "write the value out"
            ) from None
        if fallback:
            return value
        raise ConfigError(f"{flag} {_shown(whole)}: {_shown(value)} is not a valid value ({exc.problem})") from None
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        if fallback and not isinstance(exc, RecursionError):
            return value
        why = "nested too deep" if isinstance(exc, RecursionError) else str(exc).splitlines()[0][:120]
        raise ConfigError(f"{flag} {_shown(whole)}: {_shown(value)} is not a valid value ({why})") from None
    if _depth(parsed, MAX_VALUE_DEPTH) > MAX_VALUE_DEPTH:
        raise ConfigError(f"{flag} {_shown(whole)}: nested too deep; allowed: at most {MAX_VALUE_DEPTH} levels")
    return parsed


TOP_LEVEL: frozenset[str] = frozenset(Scenario.model_fields)
# The version-1 format's state blocks (MODEL.md v1): top-level `us:`, `iran:`, `iraq:`, `third_parties:`.
OLD_STATE_BLOCKS: tuple[str, ...] = ("us", "iran", "iraq", "third_parties")


def canonical_key(raw: Mapping[str, Any], key: str) -> str:
    """`us.doctrine` -> `states.us.doctrine` when `us` is a state of the scenario, not a top-level key.

    Levers are named by the state's id (MODEL.md §8: `us.doctrine`, `iran.proxy_restraint`);
    in the file every state sits under `states:`. The short form works wherever a dotted key
    does (`--set`, `--grid`, experiment parameters, validation cases).
    """
    head = key.split(".", 1)[0]
    states = raw.get("states")
    if head not in TOP_LEVEL and isinstance(states, Mapping) and head in states:
        return f"states.{key}"
    return key


def _writes(value: Any, rest: Sequence[str]) -> bool:
    """Whether assigning `value` to a block also writes the path `rest` below it: a mapping merges
    into the block and writes only the paths it holds; anything else replaces the whole block."""
    node = value
    for part in rest:
        if not isinstance(node, Mapping):
            return True
        if part not in node:
            return False
        node = node[part]
    return True


def same_value(
    raw: Mapping[str, Any],
    first: str,
    second: str,
    first_values: Iterable[Any] | None = None,
    second_values: Iterable[Any] | None = None,
) -> str | None:
    """The dotted key that assigning `first` and `second` would both write, or None.

    Keys are compared after `canonical_key` (`us.doctrine` is `states.us.doctrine`); a block and
    a key inside it clash when a value of the block writes that key (`us={doctrine: massive}`
    writes `us.doctrine`, `us={force_protection: 0.5}` does not). Values None: any value.
    """
    a, b = canonical_key(raw, first).split("."), canonical_key(raw, second).split(".")
    if len(a) > len(b):
        a, b, first_values = b, a, second_values
    if b[: len(a)] != a:
        return None
    rest = b[len(a) :]
    if rest and first_values is not None and not any(_writes(v, rest) for v in first_values):
        return None
    return ".".join(b)


def refuse_repeated(
    raw: Mapping[str, Any], varied: Mapping[str, Sequence[Any] | None], source: str, varied_as: str = "parameters"
) -> None:
    """Two varied keys that write one value (the later would silently replace the earlier): one ConfigError."""
    keys = list(varied)
    for i, first in enumerate(keys):
        for second in keys[i + 1 :]:
            both = same_value(raw, first, second, varied[first], varied[second])
            if both is not None:
                raise ConfigError(
                    f"{source}: {varied_as} {_cut(first)} and {varied_as} {_cut(second)} both set {_cut(both)} "
                    "(the later would silently replace the earlier); allowed: each key once, with all its values "
                    f"in one {varied_as}"
                )


def refuse_fixed_and_varied(
    raw: Mapping[str, Any],
    fixed: Mapping[str, Any],
    varied: Mapping[str, Sequence[Any] | None],
    source: str,
    fixed_as: str = "set",
    varied_as: str = "parameters",
) -> None:
    """A key both fixed (`set`, --set) and varied (a design, --grid, --lever): one ConfigError.

    Each point's value would silently replace the fixed one, which the manifest would still record.
    `varied` maps each varied key to its values (None: numbers from a range)."""
    for key, value in fixed.items():
        for swept, values in varied.items():
            both = same_value(raw, key, swept, [value], values)
            if both is not None:
                raise ConfigError(
                    f"{source}: {_cut(both)} is both fixed ({fixed_as} {_cut(key)}={_short(value)}) and varied "
                    f"({varied_as} {_cut(swept)}); the varied values would replace the fixed one in every run, which "
                    f"is then recorded but not used; allowed: a key in one of {fixed_as} and {varied_as} only"
                )


def reject_old_format(raw: Mapping[str, Any], source: str) -> None:
    """A version-1 config (state blocks at the top level) is refused with how to convert it."""
    old = [k for k in OLD_STATE_BLOCKS if k in raw]
    if old:
        blocks = ", ".join(f"`{k}:`" for k in old)
        raise ConfigError(
            f"{source}: top-level {blocks} is the version-1 scenario format; version 2 declares every state "
            "by id under one `states:` map (MODEL.md §3). To convert: move each block under `states:` "
            "(`third_parties.<id>` becomes `states.<id>` with `engaged: false`); give each state its "
            "`capabilities` (the acts it can choose) and each site its `kind`; write the policy traits "
            "version 1 gave by role (doctrine, sanctions_level, demands, force_protection, advance_warning, "
            "proxy_restraint, nuclear_progress, mediation) explicitly, since they now default to none; and "
            "name a mediating state with a channel's `via:`. configs/baseline_jan2020.yaml shows every key; "
            "docs/DESIGN.md lists the steps."
        )


def set_dotted(raw: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """Return a copy of `raw` with `key` (dotted path) set to `value`.

    Missing mappings are created on the way; a numeric part indexes into an existing list
    (`history.1.day=5`); a mapping value is merged into the mapping it replaces. A key may
    name a state by its id alone (`us.doctrine`, see `canonical_key`).
    """
    parts = canonical_key(raw, key).split(".")
    if parts[0] in OLD_STATE_BLOCKS:
        # Not a state of this scenario: setting it would build a version-1 block and blame the file for it.
        states = raw.get("states")
        known = ", ".join(sorted(map(str, states))) if isinstance(states, Mapping) else "none"
        known = known if len(known) <= 200 else known[:197] + "..."
        raise ConfigError(
            f"{_cut(key)}: {_short(parts[0])} is not a state of this scenario (states: {known}); "
            "name a state's key as `<id>.<key>` or `states.<id>.<key>`"
        )
    out = copy.deepcopy(raw)
    node: Any = out
    for i, part in enumerate(parts):
        where = ".".join(parts[: i + 1])
        last = i == len(parts) - 1
        if isinstance(node, list):  # an index: ASCII digits (int() also takes '²', and no 5,000-digit ones)
            if not (part.isascii() and part.isdigit() and len(part) <= 9) or int(part) >= len(node):
                raise ConfigError(
                    f"{_cut(where)}: no list item {_short(part, 40)}; the list has {len(node)} items "
                    f"(0..{len(node) - 1})"
                )
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
            continue
        if not isinstance(node, dict):
            raise ConfigError(f"{_cut('.'.join(parts[:i]))}: is a value, cannot set {_short(key, 80)} below it")
        if last:
            # A block merges into the block it names, as `extends` does: `us={doctrine: massive}`
            # changes the doctrine and keeps the file's other `us` values.
            old = node.get(part)
            node[part] = deep_merge(old, value) if isinstance(old, Mapping) and isinstance(value, Mapping) else value
        else:
            if node.get(part) is None:
                node[part] = {}
            node = node[part]
    return out


def _dotted(loc: Iterable[Any]) -> str:
    return ".".join(str(p) for p in loc) or "<top level>"


def _cut(text: str, limit: int = 80) -> str:
    """A key or path for a message, at most `limit` characters (a command-line key may have 10,000)."""
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _short(value: Any, limit: int = 60) -> str:
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # ints over 4300 digits, very deep nesting
        text = f"<{type(value).__name__} too large to show>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _allowed(error: Mapping[str, Any]) -> str:
    """What a pydantic error says is allowed, phrased for a user."""
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind == "extra_forbidden":
        return "not a known key (check spelling; see the config schema)"
    if "expected" in ctx:
        return f"allowed: {ctx['expected']}"
    bounds = [
        f"{name} {ctx[key]}" for key, name in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")) if key in ctx
    ]
    if bounds:
        return "allowed: a number " + " and ".join(bounds)
    if kind in ("finite_number", "float_type"):
        return "allowed: a finite number (not NaN, infinity, text or true/false)"
    if kind == "int_type":
        return "allowed: a whole number (not text, a decimal or true/false)"
    if kind == "bool_type":
        return "allowed: true or false"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return error["msg"]


def _choices_of_missing(loc: Iterable[Any]) -> str | None:
    """The allowed values of a missing required field that takes one of a fixed set (a site's `kind`)."""
    model: Any = Scenario
    annotation: Any = None
    parts = list(loc)
    while parts:
        name = parts.pop(0)
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or name not in model.model_fields:
            return None
        annotation = model.model_fields[name].annotation
        origin, args = get_origin(annotation), get_args(annotation)
        if origin in (dict, list) and args and isinstance(args[-1], type) and issubclass(args[-1], BaseModel):
            model, parts = args[-1], parts[1:]  # skip the entity id or list index
        else:
            model = annotation
    if get_origin(annotation) is not Literal:
        return None
    choices = [repr(c) for c in get_args(annotation)]
    return "allowed: " + ", ".join(choices[:-1]) + " or " + choices[-1] if len(choices) > 1 else choices[0]


MAX_UNKNOWN_KEYS_SHOWN = 5
MAX_PROBLEMS_SHOWN = 10  # a list of 200 empty history events has 600 problems: the first ones say enough


def format_validation_error(exc: ValidationError, source: str = "config") -> str:
    """One line per problem: `source: key.path: got VALUE; allowed: ...`; at most
    MAX_UNKNOWN_KEYS_SHOWN unknown keys and MAX_PROBLEMS_SHOWN lines, then how many more. Files
    named by other files (extends:, config:, linked:) pass `refuse_unknown_keys` first, so a file
    that is not a config never has its values shown."""
    lines, unknown = [], 0
    for err in exc.errors():
        key = _short(_dotted(err["loc"]), 80).strip("'")
        if err["type"] == "value_error" and not err["loc"]:
            lines.append(f"{source}: {err['ctx']['error'] if 'ctx' in err else err['msg']}")
            continue
        if err["type"] == "missing":
            lines.append(f"{source}: {key}: missing; {_choices_of_missing(err['loc']) or _allowed(err)}")
            continue
        if err["type"] == "extra_forbidden":
            unknown += 1
            if unknown > MAX_UNKNOWN_KEYS_SHOWN:
                continue
        lines.append(f"{source}: {key}: got {_short(err.get('input'))}; {_allowed(err)}")
    if unknown > MAX_UNKNOWN_KEYS_SHOWN:
        lines.append(f"{source}: and {unknown - MAX_UNKNOWN_KEYS_SHOWN} more unknown keys")
    if len(lines) > MAX_PROBLEMS_SHOWN:
        more = len(lines) - MAX_PROBLEMS_SHOWN + 1
        lines[MAX_PROBLEMS_SHOWN - 1 :] = [f"{source}: and {more} more problems (fix those above first)"]
    return "\n".join(lines)


def refuse_unknown_keys(raw: Mapping[Any, Any], known: Iterable[str], source: str | Path, what: str) -> None:
    """A file whose top-level keys are not all known may not be a config at all (a password file
    that parses as a mapping): one ConfigError naming at most MAX_UNKNOWN_KEYS_SHOWN of its
    unknown keys, truncated, and none of its values."""
    allowed = set(known)
    unknown = [str(k) for k in raw if k not in allowed]
    if not unknown:
        return
    names = ", ".join(_short(k, 40).strip("'") for k in unknown[:MAX_UNKNOWN_KEYS_SHOWN])
    more = f" and {len(unknown) - MAX_UNKNOWN_KEYS_SHOWN} more" if len(unknown) > MAX_UNKNOWN_KEYS_SHOWN else ""
    raise ConfigError(
        f"{source}: top-level {names}{more}: not a known key of {what} (check spelling; see the config schema); "
        "values are not shown"
    )


def reject_nonfinite(node: Any, loc: str = "") -> None:
    """Pydantic coerces 'nan' strings; refuse NaN/inf anywhere, including inside lists, and whole
    numbers too large for a float (a field's validator comparing one as a float would overflow)."""
    if isinstance(node, float) and not math.isfinite(node):
        raise ConfigError(f"{loc or '<top level>'}: got {node!r}; allowed: a finite number (not NaN or infinity)")
    if isinstance(node, int) and not isinstance(node, bool) and abs(node) > sys.float_info.max:
        raise ConfigError(
            f"{_cut(loc or '<top level>')}: got {_short(node)}; allowed: a finite number (at most about 1.8e308)"
        )
    if isinstance(node, Mapping):
        for k, v in node.items():
            reject_nonfinite(v, f"{loc}.{k}" if loc else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            reject_nonfinite(v, f"{loc}.{i}" if loc else str(i))


def validate(raw: Mapping[str, Any], source: str = "config") -> Scenario:
    """Validate a raw mapping into a `Scenario`, or raise one readable `ConfigError`."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: top level must be a mapping of keys, got {type(raw).__name__}")
    reject_old_format(raw, source)
    try:
        reject_nonfinite(dict(raw))
        return Scenario.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None
    except RecursionError:
        raise ConfigError(f"{source}: nesting too deep") from None


def load_config(path: str | Path, overrides: Iterable[str] | Mapping[str, Any] = ()) -> Scenario:
    """Load, inherit, override (`dotted.key=value` strings or a mapping) and validate a scenario."""
    raw = resolve_raw(path)
    reject_old_format(raw, str(path))
    raw.setdefault("name", Path(path).stem)
    pairs = overrides if isinstance(overrides, Mapping) else parse_assignments(overrides)
    _one_value_per_key(raw, pairs)
    for key, value in pairs.items():
        raw = set_dotted(raw, key, value)
    return validate(raw, source=str(path))


def with_overrides(scenario: Scenario, values: Mapping[str, Any]) -> Scenario:
    """A copy of `scenario` with dotted keys replaced, validated like a loaded config."""
    raw = scenario.model_dump(mode="json")
    for key, value in values.items():
        raw = set_dotted(raw, key, value)
    return validate(raw, source=f"{scenario.name} with {', '.join(values)}")


# Blocks added to the schema after results were first saved: at their defaults they stay out of
# the hash, so a scenario that does not set them hashes as it did before they existed (a saved
# manifest's `config_hash` still matches its recorded config, which lacks them).
HASHED_WHEN_SET: tuple[str, ...] = ("behaviour",)


def config_hash(scenario: Scenario) -> str:
    """Stable content hash of a resolved scenario (hex sha256 of canonical JSON).

    A block of HASHED_WHEN_SET counts only when it differs from its defaults."""
    content = scenario.model_dump(mode="json")
    for block in HASHED_WHEN_SET:
        if getattr(scenario, block) == type(getattr(scenario, block))():
            del content[block]
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
