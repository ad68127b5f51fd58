"""The demo data simulator (a B2B SaaS book of accounts) and its scenarios."""

from demo.simulator import SCENARIO_MONTHS, SCENARIOS, generate

__all__ = ["SCENARIOS", "SCENARIO_MONTHS", "generate"]
