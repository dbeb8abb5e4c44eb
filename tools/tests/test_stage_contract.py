"""The stage contract against the reference stages: every check in tools/contract/, the same
checks tools/check.py runs against a learner's project (one contract, two uses).

Every stage is served by its own run command (StageServer), on each channel layer it supports;
two-processes uses a second process of the same stage on the same Redis, and a destructive check
(one that crashes consumers on purpose) a process of its own. The reference stages are held to
their exact behaviour (ServedProject.reference), as tools/stages.py describes it: the tutorial's
code (parts 1-3) closes a socket that sent a malformed frame (1011) and answers an unroutable
socket path with HTTP 500, while the server keeps serving and other sockets are unaffected; part4
answers a malformed frame with an error frame, keeps the socket and broadcasts nothing, and
refuses room names over 100 characters with 403.
"""

import pytest
from bilingual import Text
from chat_client import connect, socket_path
from contract import Check, ServedProject, checks_for, run_one
from servers import StageServer
from stages import GROUP_STAGES, STAGES

# A stage with no channel layer runs in memory only; the others on both layers.
SERVERS = [(s, "memory") for s in STAGES if s not in GROUP_STAGES] + [
    (s, layer) for s in GROUP_STAGES for layer in ("memory", "redis")
]


def cases():
    """(stage, layer, check): one xdist group per server, so each server starts once."""
    for stage, layer in SERVERS:
        for chk in checks_for(stage, layer=layer):
            yield pytest.param(
                stage,
                layer,
                chk,
                id=f"{stage}-{layer}-{chk.id}",
                marks=pytest.mark.xdist_group(f"{stage}-{layer}"),
            )


@pytest.mark.parametrize("stage, layer, chk", list(cases()))
async def test_reference_stage_keeps_the_contract(stage_servers, stage, layer, chk):
    server = stage_servers(stage, layer, instance="crashed on purpose" if chk.destructive else 1)
    second = stage_servers(stage, layer, instance=2) if chk.processes == 2 else None
    project = ServedProject(stage, server.workdir, server, second, layer, reference=True)
    result = await run_one(chk, project)
    assert result.status == "ok", (
        f"{result.title['en']}: {result.detail} (mistake: {result.mistake})\n"
        + "\n".join(result.log)
    )


def test_every_check_runs_somewhere():
    """A check no stage and layer runs would prove nothing; part4's own-tests checks run in
    tools/tests/test_checker.py (the checker runs the learner's suite)."""
    ran = {c.id for stage, layer in SERVERS for c in checks_for(stage, layer=layer)}
    everything = {c.id for stage, _ in SERVERS for c in checks_for(stage)}
    assert everything - ran == {"own-tests-pass", "own-tests-catch-bugs"}


async def test_part1_a_check_whose_server_dies_under_it_fails_saying_what_it_met(tmp_path):
    """A check meets what it did not expect (the server gone: its socket closed, a new one
    refused): a failure naming it, as check.py shows it, not a traceback."""

    async def loses_its_socket(project):
        async with connect(project.server, socket_path("lobby")) as ws:
            project.server.stop()
            await ws.recv()

    async def is_refused(project):
        async with connect(project.server, socket_path("lobby")):
            pass

    checks = [
        Check(run.__name__, Text(run.__name__, run.__name__), run, ("part1_echo",))
        for run in (loses_its_socket, is_refused)
    ]
    server = StageServer("part1_echo").start()
    try:
        project = ServedProject("part1_echo", server.workdir, server)
        lost, refused = [await run_one(chk, project) for chk in checks]
    finally:
        server.stop()
    assert (lost.status, refused.status) == ("fail", "fail")
    assert lost.detail.startswith("the check stopped on ConnectionClosed"), lost.detail
    assert refused.detail.startswith("the check stopped on ConnectionRefusedError"), refused.detail
    assert "Connect call failed" in refused.detail or "refused" in refused.detail, refused.detail
