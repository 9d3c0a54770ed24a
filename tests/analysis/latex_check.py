"""Checks of the LaTeX tables `abm report` writes: compiled by pdflatex when there is one, and always
read by a strict checker, so a machine without TeX still catches what would break a document.

The checker knows only what the report's tables may hold (pandas Styler's `table` and `tabular`
with booktabs rules, a caption, escaped text) and fails on anything else: an unescaped special
character (`%` would comment out the rest of the line, `&` outside a tabular, `#`, `$`, `_`, `^`,
`~`), an unknown command, unbalanced braces or environments, a row whose cell count is not the
tabular's column count.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

COMMANDS = frozenset(
    {
        "begin",
        "end",
        "caption",
        "toprule",
        "midrule",
        "bottomrule",
        "textbackslash",
        "textasciitilde",
        "textasciicircum",
        "textless",
        "textgreater",
        "space",
    }
)
ENVIRONMENTS = frozenset({"table", "tabular"})
CONTROL_SYMBOLS = frozenset("%&$#_{}\\")  # \% \& ... and \\ (end of a row)
SPECIALS = {
    "%": "a bare % starts a comment",
    "#": "a bare # is a macro parameter",
    "$": "a bare $ starts math",
    "_": "a bare _ is a subscript (math only)",
    "^": "a bare ^ is a superscript (math only)",
    "~": "a bare ~ is a non-breaking space, not a tilde",
}


def latex_problems(text: str) -> list[str]:
    """Everything the strict checker finds wrong in `text`, one message each ("line N: ...")."""
    problems: list[str] = []
    braces: list[int] = []  # line of each open brace
    envs: list[tuple[str, int]] = []
    columns: int | None = None  # inside a tabular: its column count
    cells, i, line = 0, 0, 1
    while i < len(text):
        ch = text[i]
        if ch == "\n":
            line += 1
        elif ch == "\\":
            name = re.match(r"[A-Za-z]+", text[i + 1 :])
            if name is None:
                symbol = text[i + 1 : i + 2]
                if symbol not in CONTROL_SYMBOLS:
                    problems.append(f"line {line}: unknown control symbol \\{symbol!r}")
                elif symbol == "\\" and columns is not None:
                    if cells != columns - 1:
                        problems.append(f"line {line}: a row of {cells + 1} cells in a tabular of {columns} columns")
                    cells = 0
                i += 2
                continue
            command = name.group()
            i += 1 + len(command)
            if command not in COMMANDS:
                problems.append(f"line {line}: unknown command \\{command}")
            if command in ("begin", "end"):
                env = re.match(r"\{([A-Za-z]+)\}", text[i:])
                if env is None:
                    problems.append(f"line {line}: \\{command} without {{environment}}")
                    continue
                i += env.end()
                columns, cells = _environment(command, env.group(1), text, i, line, envs, columns, cells, problems)
                if command == "begin" and env.group(1) == "tabular" and columns is not None:
                    i += re.match(r"\{[lcr]+\}", text[i:]).end()
            continue
        elif ch == "{":
            braces.append(line)
        elif ch == "}":
            if braces:
                braces.pop()
            else:
                problems.append(f"line {line}: a }} closes no brace")
        elif ch == "&":
            if columns is None:
                problems.append(f"line {line}: a bare & outside a tabular")
            else:
                cells += 1
        elif ch in SPECIALS:
            problems.append(f"line {line}: {SPECIALS[ch]}")
        i += 1
    problems += [f"line {n}: a {{ never closed" for n in braces]
    problems += [f"line {n}: \\begin{{{env}}} never ended" for env, n in envs]
    return problems


def _environment(
    command: str,
    env: str,
    text: str,
    i: int,
    line: int,
    envs: list[tuple[str, int]],
    columns: int | None,
    cells: int,
    problems: list[str],
) -> tuple[int | None, int]:
    """Track \\begin / \\end; returns the tabular's column count (None outside one) and the cell count."""
    if command == "begin":
        if env not in ENVIRONMENTS:
            problems.append(f"line {line}: unknown environment {env}")
        envs.append((env, line))
        if env == "tabular":
            spec = re.match(r"\{([lcr]+)\}", text[i:])
            if spec is None:
                problems.append(f"line {line}: \\begin{{tabular}} without a column spec of l, c, r")
                return None, 0
            return len(spec.group(1)), 0
        return columns, cells
    if not envs or envs[-1][0] != env:
        problems.append(f"line {line}: \\end{{{env}}} closes {envs[-1][0] if envs else 'nothing'}")
    else:
        envs.pop()
    if env == "tabular":
        if cells:
            problems.append(f"line {line}: the last row of the tabular has no \\\\")
        return None, 0
    return columns, cells


PREAMBLE = r"""\documentclass{article}
\IfFileExists{booktabs.sty}{\usepackage{booktabs}}{%
  \newcommand{\toprule}{\hline}\newcommand{\midrule}{\hline}\newcommand{\bottomrule}{\hline}}
\begin{document}
"""


def compile_tables(tables: Sequence[str], folder: Path) -> str:
    """Compile the tables in one article with pdflatex; returns its log. Fails (AssertionError) on an error
    or a missing glyph. booktabs is used when installed, else its rules are plain \\hline."""
    engine = shutil.which("pdflatex")
    assert engine is not None, "no pdflatex: use latex_problems instead"
    source = folder / "tables.tex"
    source.write_text(PREAMBLE + "\n\n".join(tables) + "\n\\end{document}\n", encoding="utf-8")
    done = subprocess.run(
        [engine, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", source.name],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    log = (folder / "tables.log").read_text(encoding="utf-8", errors="replace")
    assert done.returncode == 0, log[-3000:]
    assert "Missing character" not in log, log[-3000:]
    assert (folder / "tables.pdf").stat().st_size > 1000
    return log
