"""How both commands read a boolean and an environment variable (stdlib only)."""

from __future__ import annotations

from collections.abc import Mapping

# The rule, the same for `seldon-microservice` and `seldon-batch-processor`: an environment
# variable that is empty or only white space counts as unset (templates often render an unset value
# as `VAR=""`), so the default applies; on the command line an empty value is an error where a
# value is required. Booleans accept 1/0, true/false, yes/no, y/n, t/f and on/off, in any case.

TRUE_WORDS = frozenset({"1", "true", "t", "yes", "y", "on"})
FALSE_WORDS = frozenset({"0", "false", "f", "no", "n", "off"})
BOOL_EXPECTED = "expected a boolean (1/0/true/false/yes/no/t/f/on/off)"


def parse_bool(raw: str) -> bool:
    """Parse a boolean word, case-insensitively; anything else (empty included) is ValueError."""
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(BOOL_EXPECTED)


def env_value(environ: Mapping[str, str], name: str) -> str | None:
    """The variable's text, or None when it is unset, empty or only white space."""
    raw = environ.get(name)
    return raw if raw is not None and raw.strip() else None
