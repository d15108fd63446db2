"""Routing policies for the benchmark: the interface, the product's router and escalation,
agreement cascades, references (single models, random mix) and the oracle."""

from tokenplan.bench.policies.base import Choice, Policy, PolicyKind, Query, ask
from tokenplan.bench.policies.cascade import AgreementCascade, CascadePlan, UnanimousCascade
from tokenplan.bench.policies.fit import CascadeFit
from tokenplan.bench.policies.product import EscalationPolicy, RouterPolicy
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
    "EscalationPolicy",
    "MixturePolicy",
    "OraclePolicy",
    "Policy",
    "PolicyKind",
    "Query",
    "RandomMixPolicy",
    "RouterPolicy",
    "SingleModelPolicy",
    "UnanimousCascade",
    "ask",
]
