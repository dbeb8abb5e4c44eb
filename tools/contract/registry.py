"""What a check is, the list of every check, and which of them a stage and layer run.

A check is an async function of a ServedProject (contract/runner.py) that returns when the
project does what it should and raises Failed (or Skipped) when it does not. Register it with
@stage_check; which stages it applies to is said with stages.stages_where(...), from the table of
what each stage does (tools/stages.py), never by comparing stage names.
"""

from collections.abc import Callable
from dataclasses import dataclass

from bilingual import Text
from stages import STAGES


@dataclass(frozen=True)
class Check:
    id: str  # unique per stage; tools/mistakes.toml names it as the check that catches a mistake
    title: Text
    run: Callable  # async fn(project: ServedProject) -> None, raising Failed / Skipped
    stages: tuple  # the stages it applies to
    look_at: str = "chat/consumers.py"  # the file to look at when it fails with no mistake named
    checkpoint: bool = True  # the learner's checker runs it too (not only the repo's tests)
    needs: tuple = ()  # checks that must pass first (those the stage has)
    layers: tuple = ("memory", "redis")  # the repo's tests run it on these layers
    needs_server: bool = True  # False: it runs the project's own tests instead
    # fn(project folder, redis_url, scratch folder) -> a handle with stop(): starts the check's
    # slow work (in a copy of the project) before the servers start, so that it runs beside the
    # other checks; run() then waits for it (ServedProject.early). None: run() does it all.
    early: Callable | None = None
    processes: int = 1  # 2: it also talks to a second server process on the same Redis
    # Crashes the project's consumers on purpose (the tutorial's consumer raises on a malformed
    # frame): the checker runs it after every other check, and the repo's tests on a server
    # process of its own, so no other check runs where consumers were crashed.
    destructive: bool = False
    # (text or compiled pattern, mistake id): log lines that name a mistake for this check only;
    # they win over the global ones (contract/evidence.py LOG_SIGNS).
    log_signs: tuple = ()


CHECKS = []


def stage_check(id, en, ko, stages=tuple(STAGES), **fields):
    """Register the decorated async function as a check (see Check for the fields)."""

    def register(run):
        CHECKS.append(Check(id, Text(en, ko), run, tuple(stages), **fields))
        return run

    return register


def checks_for(stage, checkpoint_only=False, layer=None):
    """The stage's checks in the order they are declared."""
    return [
        c
        for c in CHECKS
        if stage in c.stages
        and (c.checkpoint or not checkpoint_only)
        and (layer is None or layer in c.layers)
    ]
