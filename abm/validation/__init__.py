"""Validation: named cases (YAML) that compare simulated patterns with empirical bands.

Layering: uses config, model (record contract, action table) and the runner's public API;
nothing below imports it. Entry points: `load_cases`, `run_cases`, and `abm validate`
(`abm.commands.validate`).
"""

from abm.validation.cases import Band, Case, CaseError, CaseSpec, load_case, load_cases
from abm.validation.quantities import REGISTRY, Tables, compute, kinds
from abm.validation.run import CaseResult, run_cases
from abm.validation.stats import Estimate

__all__ = [
    "REGISTRY",
    "Band",
    "Case",
    "CaseError",
    "CaseResult",
    "CaseSpec",
    "Estimate",
    "Tables",
    "compute",
    "kinds",
    "load_case",
    "load_cases",
    "run_cases",
]
