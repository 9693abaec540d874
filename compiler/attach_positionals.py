"""Positional parameters in attach points: `interval:ms:$1`, `BEG$1`, `uprobe:$1:func`,
`tracepoint:syscalls:sys_enter_$1`, a whole probe `$1`.

Why a pass of its own, before probes resolve: the parser does not know the command line's
arguments, and every probe kind should see its attach point already expanded (its checks,
wildcards and names then work unchanged). What bpftrace 0.17 does, observed with its binary:
- the attach point is split at ':' first, then `$N` is replaced in each part, so a value with a
  ':' stays within its part (`interval:$1` with `ms:100` is one part, "ms:100");
- text may come before `$N` (`sys_enter_$1`), but unquoted text after it is an error ("Found
  trailing text '*' in positional parameter index. Try quoting the trailing text."); quoted
  text may follow (`$1"*"`), and a value's wildcards still match (`$1` = `leaf*`);
- a quoted `"$1"` is not expanded; `$#` is refused ("Not a positional parameter"), `$0` too;
- a parameter that is not given expands to nothing.
kt does the same, with two differences: when an attach point with a missing parameter is
refused, the error says which parameter is missing (0.17's "stoull" for `interval:ms:$1`
does not say why), and a whole probe `$1` may be
`tracepoint:syscalls:sys_enter_openat` (0.17 aborts: "Invalid probe type made it to
attachpoint parser").
"""

from __future__ import annotations

import dataclasses
import re

from . import ast
from .diagnostics import DiagnosticSink
from .parse import split_attach_point

__all__ = ["attach_point_parameters", "expand_attach_point", "explain_missing"]


def expand_attach_point(ap: ast.AttachPoint, positional: tuple[str, ...],
                        sink: DiagnosticSink) -> ast.AttachPoint | None:
    """`ap` with its positional parameters replaced (itself when it has none); None, with an
    error reported, when one is malformed."""
    if "$" not in ap.raw:
        return ap
    shown, split = [], []   # the text as users read it; the text to split, values quoted
    raw, i, quoted, in_provider = ap.raw, 0, False, True
    while i < len(raw):
        c = raw[i]
        if c == "\\" and quoted and i + 1 < len(raw):
            shown.append(raw[i:i + 2])
            split.append(raw[i:i + 2])
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif c == ":" and not quoted:
            in_provider = False
        if c != "$" or quoted:
            shown.append(c)
            split.append(c)
            i += 1
            continue
        j = i + 1
        while j < len(raw) and raw[j].isdigit():
            j += 1
        if j == i + 1:
            sink.error(ap.span, f"'{raw[i:i + 2]}' in an attach point is not a positional parameter",
                       "an attach point takes $1, $2, ...")
            return None
        index = int(raw[i + 1:j])
        if index == 0:
            sink.error(ap.span, "$0 in an attach point: positional parameters start at $1")
            return None
        end = j
        while end < len(raw) and raw[end] not in ':"':
            end += 1
        if end > j:
            trailing = raw[j:end]
            sink.error(ap.span, f"text '{trailing}' after ${index} in an attach point",
                       f'quote the text that follows a positional parameter: ${index}"{trailing}"')
            return None
        value = positional[index - 1] if index <= len(positional) else ""
        shown.append(value)
        # Within a part the value stays one part (quoted, as 0.17 splits before expanding);
        # the provider is the one place where a value may bring its own ':'s.
        split.append(value if in_provider else '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"')
        i = j
    provider, parts = split_attach_point("".join(split))
    return ast.AttachPoint(ap.span, "".join(shown), provider, parts)


def explain_missing(ap: ast.AttachPoint, positional: tuple[str, ...], sink: DiagnosticSink,
                    mark: int) -> None:
    """Add to the errors reported since `mark` (about `ap`, as written) which of its
    parameters were not given and so expanded to nothing."""
    missing = sorted({int(m) for m in _UNQUOTED_POSITIONAL.findall(_unquoted(ap.raw))
                      if int(m) > len(positional)})
    if not missing:
        return
    n = len(positional)
    hint = (", ".join(f"${i}" for i in missing) + f" not given ({n} positional parameter"
            f"{'s' if n != 1 else ''}), so expanded to nothing here")
    for k in range(mark, len(sink.items)):
        d = sink.items[k]
        if d.severity == "error":
            sink.items[k] = dataclasses.replace(d, hints=(*d.hints, hint))


def attach_point_parameters(ap: ast.AttachPoint) -> set[int]:
    """The N of each unquoted $N in `ap` as written: values an object bakes in."""
    return {int(m) for m in _UNQUOTED_POSITIONAL.findall(_unquoted(ap.raw)) if int(m) > 0}


_UNQUOTED_POSITIONAL = re.compile(r"\$([0-9]+)")


def _unquoted(raw: str) -> str:
    """`raw` with its quoted text blanked."""
    return re.sub(r'"(\\.|[^"\\])*"', lambda m: " " * len(m.group(0)), raw)
