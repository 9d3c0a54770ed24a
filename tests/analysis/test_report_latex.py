"""LaTeX tables of `abm report`: every caption, header and cell escaped; compiled when pdflatex exists, and
always read by a strict checker (tests/analysis/latex_check.py), so the test checks something on any machine."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from abm.analysis.report import build_report
from abm.analysis.tables import latex_escape, latex_table
from tests.analysis.latex_check import compile_tables, latex_problems

HAS_TEX = shutil.which("pdflatex") is not None

GOOD = r"""\begin{table}
\caption{95\% Wilson \& a\_b}
\begin{tabular}{lr}
\toprule
a\_b & n \\
\midrule
x\textless{}y \textasciitilde{} & 1 \\
\bottomrule
\end{tabular}
\end{table}
"""


def test_the_checker_accepts_an_escaped_table() -> None:
    assert latex_problems(GOOD) == []


@pytest.mark.parametrize(
    ("broken", "needle"),
    [
        (GOOD.replace(r"95\%", "95%"), "bare %"),
        (GOOD.replace(r"a\_b &", "a_b &"), "bare _"),
        (GOOD.replace(r"\#", "#").replace(r"\&", "&"), "bare & outside a tabular"),
        (GOOD.replace(r"\textasciitilde{}", "~"), "bare ~"),
        (GOOD.replace("x", "$x$"), "bare $"),
        (GOOD.replace(r"& n \\", r"& n & c \\"), "a row of 3 cells"),
        (GOOD.replace(r"\textless{}", r"\less{}"), r"unknown command \less"),
        (GOOD.replace(r"\caption{95", r"\caption{{95"), "never closed"),
        (GOOD.replace(r"\end{tabular}", ""), "closes tabular"),
        (GOOD.replace("& 1 \\\\", "& 1}"), "closes no brace"),
        (GOOD.replace(r"\\" + "\n\\bottomrule", "\n\\bottomrule"), "has no"),
    ],
)
def test_the_checker_catches_what_breaks_a_document(broken, needle) -> None:
    assert broken != GOOD
    assert any(needle in problem for problem in latex_problems(broken)), latex_problems(broken)


def test_awkward_names_values_and_captions_make_valid_latex(tmp_path) -> None:
    frame = pd.DataFrame(
        {
            "us.doctrine_v2 & #1": ["50% {massive}", "p<0.001 ~ a^2 $5 \\ back", None],
            "n": [10, 20, 30],
            "p": [0.12345, float("nan"), 1.0],
            "flag": [True, False, True],
        }
    )
    caption = "Outcome probabilities, p [95% Wilson interval] for a_b & c #2 (p > 0.05)"
    tex = latex_table(frame, caption)
    assert latex_problems(tex) == []
    assert latex_escape(caption) in tex and r"us.doctrine\_v2 \& \#1" in tex
    assert r"p\textless{}0.001" in tex and "0.123" in tex
    if HAS_TEX:
        compile_tables([tex], tmp_path)


def test_report_latex_tables_are_valid(compare_dir, tmp_path) -> None:
    folder = tmp_path / "cmp"
    shutil.copytree(compare_dir, folder)
    build_report(folder, ["latex"], figure_formats=["png"])
    tables = sorted((folder / "report").glob("*.tex"))
    assert {t.stem for t in tables} >= {"outcomes", "metrics", "comparison"}
    texts = [t.read_text(encoding="utf-8") for t in tables]
    for path, text in zip(tables, texts, strict=True):
        assert latex_problems(text) == [], path.name
    assert r"95\% Wilson" in texts[[t.stem for t in tables].index("outcomes")]
    if HAS_TEX:
        compile_tables(texts, tmp_path)
