"""The stage contract: checks that drive a served project from outside, as a browser would.

One contract, two uses: tools/tests/test_stage_contract.py runs the checks against the reference
stages, and tools/check.py against a learner's project, explaining what failed. On a failure a
check names the likely mistake from tools/mistakes.toml, diagnosed from evidence.

    registry.py    what a check is (Check), @stage_check, checks_for(stage)
    runner.py      ServedProject (what a check sees), Failed / Skipped, CheckResult, run_checks
    probes.py      the steps checks are made of: open a socket, expect a frame or nothing
    evidence.py    what names a mistake: the consumer's source (ast), INSTALLED_APPS, log signs
    checks.py      the checkpoint checks (the learner's checker runs these)
    hardening.py   checks only the repo's tests run on the reference stages
    own_tests.py   the checks that run the learner's own tests
    catalogue.py   tools/mistakes.toml: look a mistake up; make one in a copy (for the tests)

What each stage does (echo or broadcast, how it refuses a bad frame...) is a table in
tools/stages.py. To add a check: write it in checks.py (or hardening.py) with @stage_check.
"""

# Importing the check modules registers their checks, in this order.
from contract import checks, hardening, own_tests  # noqa: F401
from contract.registry import CHECKS, Check, checks_for, stage_check
from contract.runner import (
    CheckResult,
    Failed,
    ServedProject,
    Skipped,
    run_checks,
    run_one,
    start_early,
    stop_early,
)

__all__ = [
    "CHECKS",
    "Check",
    "CheckResult",
    "Failed",
    "ServedProject",
    "Skipped",
    "checks_for",
    "run_checks",
    "run_one",
    "stage_check",
    "start_early",
    "stop_early",
]
