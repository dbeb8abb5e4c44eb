"""The classroom board (tools/board.py) and check.py --report: what a report carries, and every
class of bad report refused with a clear answer and nothing changed, on a real board process.

All traffic goes to 127.0.0.1. The reports are made by the checker's own code (board_site.simulate,
board_report.payload), as `check.py --report` makes them.
"""

import asyncio
import json
import subprocess
import sys
import urllib.request

import board_report
import pytest
import websockets
from board_site import simulate, state
from chat_client import http_get
from stages import ROOT, STAGES

# One worker: the module's board process is started once.
pytestmark = pytest.mark.xdist_group("board")
CODE = "K7P2QX"
CHECK = str(ROOT / "tools" / "check.py")


def body(report):
    return board_report.encode(report)


# --- What a report carries -------------------------------------------------------------------


def test_a_report_carries_results_only():
    result = simulate.result("part2_groups", "never-joins-group")
    failed = next(c for c in result["checks"] if c["status"] == "fail")
    assert failed["look_at"] and failed["diff"] and failed["notes"]  # the checker's full result
    report = board_report.payload(result, "Minji", CODE)
    assert set(report) == {"code", "name", "stage", "status", "seconds", "checks"}
    assert {key for c in report["checks"] for key in c} == {"id", "status", "mistake", "seconds"}
    sent = board_report.encode(report).decode()
    for private in (str(ROOT), "consumers.py", "simulated", "git diff", "README"):
        assert private not in sent
    assert report["status"] == "fail"
    assert [c["mistake"] for c in report["checks"] if c["status"] == "fail"] == [
        "never-joins-group"
    ]


def test_a_project_that_could_not_be_checked_reports_an_error_without_its_reason():
    report = simulate.report("Jun", CODE, "part1_echo", could_not_check=True)
    assert report["status"] == "error" and report["checks"] == []
    assert "no-such-project" not in board_report.encode(report).decode()


@pytest.mark.parametrize(
    ("given", "url"),
    [
        ("192.168.0.10:8100", "http://192.168.0.10:8100/report"),
        ("http://192.168.0.10:8100/", "http://192.168.0.10:8100/report"),
        ("http://board.local:8100/report", "http://board.local:8100/report"),
        ("[::1]:8100", "http://[::1]:8100/report"),
    ],
)
def test_the_board_address_is_taken_as_printed_or_as_a_url(given, url):
    assert board_report.report_url(given) == url


# --- The rules, without a server -------------------------------------------------------------


def test_the_board_keeps_the_latest_report_per_learner_and_stage():
    board = state.Board(CODE)
    board.accept(body(simulate.report("Minji", CODE, "part2_groups", "never-joins-group")))
    board.accept(body(simulate.report("Hana", CODE, "part2_groups", "never-joins-group")))
    board.accept(body(simulate.report("Jun", CODE, "part2_groups", "no-channel-layer")))
    assert board.common() == {
        "mistake": "never-joins-group",
        "learners": 2,
        "stages": ["part2_groups"],
    }
    update = board.accept(body(simulate.report("minji", CODE.lower(), "part2_groups")))
    assert update["row"]["name"] == "minji"  # the same learner, whatever the case
    assert board.counts()["part2_groups"] == {"pass": 1, "fail": 2, "error": 0}
    assert board.common()["learners"] == 1 and board.common()["mistake"] == "never-joins-group"
    assert len(board.learners) == 3 and board.seq == 4


def test_the_most_common_mistake_counts_learners_not_cells():
    board = state.Board(CODE)
    board.accept(body(simulate.report("Minji", CODE, "part2_groups", "unsafe-group-name")))
    board.accept(body(simulate.report("Minji", CODE, "part3_async", "unsafe-group-name")))
    board.accept(body(simulate.report("Hana", CODE, "part2_groups", "never-joins-group")))
    board.accept(body(simulate.report("Jun", CODE, "part2_groups", "never-joins-group")))
    assert board.common() == {
        "mistake": "never-joins-group",
        "learners": 2,
        "stages": ["part2_groups"],
    }
    for name in ("Sora", "Leo"):
        board.accept(body(simulate.report(name, CODE, "part3_async", "unsafe-group-name")))
    assert board.common() == {
        "mistake": "unsafe-group-name",
        "learners": 3,
        "stages": ["part2_groups", "part3_async"],
    }


def test_a_row_carries_the_key_the_board_knows_the_learner_by():
    """Python's casefold is not JavaScript's toLowerCase ("Straße"): the page keys rows by it."""
    board = state.Board(CODE)
    board.accept(body(simulate.report("Straße", CODE, "part1_echo")))
    update = board.accept(body(simulate.report("STRASSE", CODE, "part2_groups")))
    assert update["row"]["key"] == "strasse" and update["row"]["name"] == "STRASSE"
    assert [r["key"] for r in board.snapshot()["rows"]] == ["strasse"]


def test_a_full_board_fits_in_one_message_of_a_page_socket():
    """A page gets the whole state in one WebSocket message, and daphne sends at most 1 MiB: past
    it the page could never connect. The worst a board takes: every learner, every stage, every
    check failing with the longest mistake id, the longest names (JSON escapes each Hangul)."""
    import contract
    from contract.catalogue import load_catalogue

    longest = max(load_catalogue(), key=len)
    board = state.Board(CODE, clock=iter(range(0, 10**9, 100)).__next__)
    for i in range(state.MAX_LEARNERS):
        name = "".join(chr(0xAC00 + (i * 41 + j) % 11172) for j in range(state.MAX_NAME))
        for stage in STAGES:
            checks = [
                {"id": c.id, "status": "fail", "mistake": longest, "seconds": 3599.99}
                for c in contract.checks_for(stage, checkpoint_only=True)
            ]
            report = {"code": CODE, "name": name, "stage": stage, "status": "fail"}
            board.accept(body({**report, "seconds": 3599.99, "checks": checks}))
    assert len(board.learners) == state.MAX_LEARNERS
    sent = json.dumps(board.snapshot())  # as channels' send_json encodes it
    assert len(sent.encode()) < 1024 * 1024 // 2  # half of daphne's limit: room for new checks


def test_a_name_is_kept_as_text():
    board = state.Board(CODE)
    name = '<img src=x onerror="alert(1)">'
    board.accept(body(simulate.report(name, CODE, "part1_echo")))
    assert board.snapshot()["rows"][0]["name"] == name


@pytest.mark.parametrize(
    ("change", "status", "says"),
    [
        ({"name": ""}, 422, "name is empty"),
        ({"name": "x" * 41}, 422, "longer than 40"),
        ({"name": "tab\tand\x07bell"}, 422, "control characters"),
        ({"stage": "part5_magic"}, 422, "unknown stage"),
        ({"status": "great"}, 422, "unknown status"),
        ({"path": "/home/minji/workspace"}, 422, "fields the board does not take: path"),
        ({"checks": [{"id": "echo", "status": "ok", "log": ["Traceback"]}]}, 422, "checks[0]"),
        ({"checks": [{"id": "broadcast", "status": "ok"}]}, 422, "not one of part1_echo's"),
        ({"checks": [{"id": "echo", "status": "fail", "mistake": "made-up"}]}, 422, "no mistake"),
        ({"status": "pass", "checks": [{"id": "echo", "status": "fail"}]}, 422, "status fail"),
        ({"seconds": -1}, 422, "seconds must be 0"),
        ({"seconds": "soon"}, 422, "must be a number"),
    ],
)
def test_a_report_that_breaks_a_rule_is_refused_saying_which(change, status, says):
    board = state.Board(CODE)
    report = {**simulate.report("Minji", CODE, "part1_echo"), **change}
    with pytest.raises(state.Refused) as refused:
        board.accept(body(report))
    assert refused.value.status == status and says in refused.value.reason.en
    assert refused.value.reason.ko
    assert board.snapshot()["rows"] == [] and board.seq == 0


def test_a_flood_from_one_name_is_held_back_and_others_still_report():
    now = [100.0]
    board = state.Board(CODE, clock=lambda: now[0])
    report = body(simulate.report("Minji", CODE, "part1_echo"))
    for _ in range(state.RATE_BURST):
        board.accept(report)
    with pytest.raises(state.Refused) as refused:
        board.accept(report)
    assert refused.value.status == 429 and refused.value.retry_after == state.RATE_EVERY
    board.accept(body(simulate.report("Hana", CODE, "part1_echo")))
    now[0] += state.RATE_EVERY
    board.accept(report)  # one more after the wait


def test_guessing_the_join_code_is_held_back_per_address():
    now = [100.0]
    board = state.Board(CODE, clock=lambda: now[0])
    guess = body(simulate.report("Mallory", "AAAAAA", "part1_echo"))
    for _ in range(state.RATE_BURST):
        with pytest.raises(state.Refused) as refused:
            board.accept(guess, sender="192.168.0.66")
        assert refused.value.status == 403
    # Past the limit even the right code is not compared: a guess cannot tell it was right.
    right = body(simulate.report("Mallory", CODE, "part1_echo"))
    with pytest.raises(state.Refused) as refused:
        board.accept(right, sender="192.168.0.66")
    assert refused.value.status == 429 and refused.value.retry_after == state.RATE_EVERY
    assert "wrong join codes" in refused.value.reason.en and refused.value.reason.ko
    board.accept(body(simulate.report("Minji", CODE, "part1_echo")), sender="192.168.0.12")
    now[0] += state.RATE_EVERY
    board.accept(right, sender="192.168.0.66")  # one more try after the wait
    assert [r["name"] for r in board.snapshot()["rows"]] == ["Mallory", "Minji"]


def test_the_join_code_is_short_and_unambiguous():
    codes = {state.new_code() for _ in range(50)}
    assert len(codes) == 50
    assert all(len(c) == 6 and not set(c) & set("01ILO") for c in codes)


# --- A real board process --------------------------------------------------------------------


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    process = simulate.BoardProcess(code=CODE).start()
    yield process
    process.stop()
    process.remove_log()


def post(board, data, headers=None, method="POST", path="/report"):
    """(status, the JSON answer) of a raw request to the board."""
    request = urllib.request.Request(
        f"http://{board.address}{path}",
        data=data,
        headers={"Content-Type": "application/json", **(headers or {})},
        method=method,
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, json.loads(response.read()), response.headers
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), error.headers


async def page_state(board):
    """The state a page gets when its socket opens."""
    async with simulate.page_socket(board.address) as ws:
        return json.loads(await asyncio.wait_for(ws.recv(), 5))


def test_the_board_prints_the_address_the_code_and_the_learners_command(board):
    out = board.output()
    assert f"Join code: {CODE}" in out
    assert f"--report {board.address} --name YOUR_NAME --code {CODE}" in out
    assert f"http://{board.address}/" in out
    assert "Nothing is written to disk" in out


def test_a_report_as_the_checker_sends_it_reaches_the_page(board):
    before = asyncio.run(page_state(board))
    report = simulate.report("Soyeon", CODE, "part3_async", "no-await")
    delivered, _ = board_report.send(board.address, report)
    assert delivered
    after = asyncio.run(page_state(board))
    assert after["seq"] == before["seq"] + 1
    row = next(r for r in after["rows"] if r["name"] == "Soyeon")
    assert row["cells"]["part3_async"]["status"] == "fail"
    assert row["cells"]["part3_async"]["mistakes"] == ["no-await"]


def flood(board):
    report = board_report.encode(simulate.report("Flood", CODE, "part1_echo"))
    answers = [post(board, report) for _ in range(state.RATE_BURST + 3)]
    assert [status for status, _, _ in answers[: state.RATE_BURST]] == [200] * state.RATE_BURST
    return answers[-1]


def oversized_by_length(board):
    return post(board, b"{" + b" " * state.MAX_BODY + b"}")


def oversized_in_chunks(board):
    """No Content-Length: the body is counted as it arrives."""
    chunks = iter([b'{"name": "', b"x" * state.MAX_BODY, b'"}'])
    request = urllib.request.Request(
        f"http://{board.address}/report",
        data=chunks,
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        method="POST",
    )
    try:
        urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=5)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), error.headers
    raise AssertionError("an oversized chunked report was taken")


BAD = {
    "wrong code": (
        lambda b: post(b, body(simulate.report("Mallory", "WRONG1", "part1_echo"))),
        403,
        "wrong join code",
    ),
    "no code": (
        lambda b: post(b, body({**simulate.report("Mallory", "", "part1_echo")})),
        403,
        "wrong join code",
    ),
    "oversized": (oversized_by_length, 413, "the board takes at most 8192"),
    "oversized, chunked": (oversized_in_chunks, 413, "the board takes at most 8192"),
    "malformed JSON": (lambda b: post(b, b'{"code": "K7P2QX", "name": '), 400, "not JSON"),
    "not an object": (lambda b: post(b, b'["K7P2QX"]'), 400, "must be a JSON object"),
    "unknown stage": (
        lambda b: post(b, body({**simulate.report("Mallory", CODE, "part1_echo"), "stage": "x"})),
        422,
        "unknown stage 'x': one of " + ", ".join(STAGES),
    ),
    "a file path": (
        lambda b: post(b, body({**simulate.report("Mallory", CODE, "part1_echo"), "path": "/"})),
        422,
        "fields the board does not take: path",
    ),
    "not JSON content": (
        lambda b: post(b, b"code=K7P2QX", {"Content-Type": "application/x-www-form-urlencoded"}),
        415,
        "Content-Type: application/json",
    ),
    "GET": (lambda b: post(b, None, method="GET"), 405, "send reports with POST"),
    "another host name": (
        lambda b: post(b, body(simulate.report("Mallory", CODE, "part1_echo")), {"Host": "evil"}),
        400,
        "not one the board listens on",
    ),
    "flood": (flood, 429, "too many reports from this name: try again in"),
}


@pytest.mark.parametrize("kind", list(BAD))
def test_a_bad_report_is_refused_clearly_and_changes_nothing(board, kind):
    send, status, says = BAD[kind]
    if kind == "flood":
        send(board)  # the reports the limit lets through change the board; the rest must not
    before = asyncio.run(page_state(board))
    got, answer, headers = send(board) if kind != "flood" else flood_more(board)
    assert (got, answer["ok"]) == (status, False)
    assert says in answer["error"]["en"] and answer["error"]["ko"]
    if kind == "flood":
        assert int(headers["Retry-After"]) >= 1
    assert asyncio.run(page_state(board)) == before


def flood_more(board):
    return post(board, board_report.encode(simulate.report("Flood", CODE, "part2_groups")))


def test_a_page_socket_from_another_site_is_refused(board):
    async def connect():
        async with simulate.page_socket(board.address, origin="http://evil.example"):
            pass

    with pytest.raises(websockets.InvalidStatus) as refused:
        asyncio.run(connect())
    assert refused.value.response.status_code == 403


def test_a_binary_frame_from_a_page_socket_is_ignored(board):
    """No traceback in the instructor's terminal, and the socket keeps working."""

    async def binary_then_state():
        async with simulate.page_socket(board.address) as ws:
            await asyncio.wait_for(ws.recv(), 5)
            await ws.send(b"\x00\x01")
            await ws.send(json.dumps({"type": "state"}))
            return json.loads(await asyncio.wait_for(ws.recv(), 5))

    assert asyncio.run(binary_then_state())["type"] == "state"
    assert "Exception inside application" not in board.output()


def test_the_page_is_served_in_either_language(board):
    def get(query="", language=""):
        _, body, headers = http_get(board, "/" + query, headers={"Accept-Language": language})
        return body, headers

    english, headers = get("?lang=en")
    assert '<html lang="en">' in english and "Classroom board" in english
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert '<html lang="ko">' in get("?lang=ko")[0] and "강의실 현황판" in get("?lang=ko")[0]
    assert '<html lang="ko">' in get(language="ko-KR,ko;q=0.9")[0]


def test_the_page_shows_learners_the_printed_address_wherever_it_is_opened(board):
    """The projector opens the page at 127.0.0.1 or localhost; the command on an empty board must
    carry the address learners report to, as the board printed it."""
    _, page, _ = http_get(board, "/", headers={"Host": f"localhost:{board.port}"})
    script = page.split('id="board-data" type="application/json">')[1]
    data = json.loads(script.split("</script>")[0])
    assert data["address"] == board.address
    assert f"--report {board.address} --name YOUR_NAME" in board.output()


# --- check.py --report when the board is not there ---------------------------------------------


def run_check(*args):
    return subprocess.run(
        [sys.executable, CHECK, "part1_echo", str(ROOT / "no-such-folder"), "--lang", "en", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_unreachable_board_costs_one_line_and_not_the_result():
    from servers import free_port

    nowhere = f"127.0.0.1:{free_port()}"
    plain = run_check()
    reported = run_check("--report", nowhere, "--name", "Minji", "--code", CODE)
    assert reported.returncode == plain.returncode == 2
    assert reported.stdout.startswith(plain.stdout)
    extra = reported.stdout[len(plain.stdout) :].splitlines()
    assert len(extra) == 1 and extra[0].startswith("Report NOT delivered: the board at")
    assert nowhere in extra[0] and extra[0].endswith("The result above stands.")

    as_json = run_check("--json", "--report", nowhere, "--name", "Minji", "--code", CODE)
    assert as_json.returncode == 2 and json.loads(as_json.stdout)["status"] == "error"
    assert as_json.stderr.strip().startswith("Report NOT delivered")


def test_report_without_a_name_or_code_is_refused_before_checking():
    done = run_check("--report", "127.0.0.1:9", "--code", CODE)
    assert done.returncode == 2 and "--report needs --name" in done.stderr
    done = run_check("--report", "127.0.0.1:9", "--name", "Minji")
    assert done.returncode == 2 and "--report needs --code" in done.stderr
