"""The demo data simulator (a B2B SaaS book of accounts) and its scenarios.

Deterministic demo raw data for Baton: a SaaS customer base whose churn follows latent
signals. The package, in the order a generation runs:

- world.py: the data window, the accounts and their traits, the world's dataclasses.
- behaviour.py: the monthly simulation of hidden states and churn.
- subscriptions.py: terms, renewals, plan and seat changes, prices.
- scenarios.py: the scenarios, their settings and how they change the recording.
- tables.py: the contract's raw tables recorded from the simulated world.
- generator.py: `generate`, which simulates, records and writes them into DuckDB.
"""

from demo.generator import generate
from demo.scenarios import SCENARIO_MONTHS, SCENARIOS

__all__ = ["SCENARIOS", "SCENARIO_MONTHS", "generate"]
