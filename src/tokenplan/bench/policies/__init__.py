"""Routing policies for the benchmark: the interface, references, ladders and cascades."""

from tokenplan.bench.policies.base import Choice, Policy, PolicyKind, Query, ask
from tokenplan.bench.policies.cascade import AgreementCascade, CascadePlan, UnanimousCascade
from tokenplan.bench.policies.fit import CascadeFit
from tokenplan.bench.policies.ladder import (
    LadderPolicy,
    acceptance_check,
    catalog_ladder,
)
from tokenplan.bench.policies.simple import (
    MixturePolicy,
    OraclePolicy,
    RandomMixPolicy,
    SingleModelPolicy,
)

__all__ = [
    "AgreementCascade",
    "CascadeFit",
    "CascadePlan",
    "Choice",
    "LadderPolicy",
    "MixturePolicy",
    "OraclePolicy",
    "Policy",
    "PolicyKind",
    "Query",
    "RandomMixPolicy",
    "SingleModelPolicy",
    "UnanimousCascade",
    "acceptance_check",
    "ask",
    "catalog_ladder",
]
