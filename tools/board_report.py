"""Send a checker result to the instructor's classroom board (tools/board.py).

    uv run python tools/check.py part2_groups --report 192.168.0.10:8600 --name Minji --code K7P2QX

Only results travel: the stage, the status, each check's id, status, mistake id and seconds (and
the mistake id of a project that could not be checked). Never code, file paths, details or log
lines. Standard library only, so it works on every learner's laptop; a board that cannot be
reached costs one line of output and at most TIMEOUT seconds, never the checker's exit code.
"""

import json
import urllib.error
import urllib.parse
import urllib.request

from bilingual import Text

TIMEOUT = 3  # seconds
MAX_NAME = 40  # the board's limit (tools/board_site/state.py)


def payload(result, name, code):
    """The report for a result of tools/check.py (check_project's dict)."""
    report = {
        "code": code,
        "name": name,
        "stage": result["stage"],
        "status": result["status"],
        "seconds": result.get("seconds"),
        "checks": [
            {
                "id": c["id"],
                "status": c["status"],
                "mistake": c.get("mistake"),
                "seconds": c.get("seconds"),
            }
            for c in result["checks"]
        ],
    }
    if result["status"] == "error" and result.get("mistake"):
        report["mistake"] = result["mistake"]
    return report


def encode(report):
    return json.dumps(report, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def report_url(address):
    """192.168.0.10:8600, http://192.168.0.10:8600/ or .../report -> http://.../report."""
    address = address.strip()
    if "://" not in address:
        address = "http://" + address
    parts = urllib.parse.urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(address)
    path = parts.path.rstrip("/")
    if not path.endswith("/report"):
        path += "/report"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def name_problem(name):
    """Why the board would refuse this name (Text), or None: said before the checks run."""
    shown = " ".join((name or "").split())
    if not shown:
        return Text("--name is empty", "--name이 비어 있습니다")
    if len(shown) > MAX_NAME:
        return Text(
            f"--name is longer than {MAX_NAME} characters",
            f"--name이 {MAX_NAME}자보다 깁니다",
        )
    return None


def send(address, report, timeout=TIMEOUT):
    """POST the report: (delivered, the board's answer or why not, as Text)."""
    try:
        url = report_url(address)
    except ValueError:
        return False, Text(
            f"{address!r} is not a board address (like 192.168.0.10:8600)",
            f"{address!r}은(는) 현황판 주소가 아닙니다(예: 192.168.0.10:8600)",
        )
    request = urllib.request.Request(
        url,
        data=encode(report),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    # A proxy set for the internet must not carry a report to a board in the room.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            response.read()
            return True, Text("", "")
    except urllib.error.HTTPError as error:
        return False, refused(error)
    except (OSError, ValueError) as error:  # refused, unreachable, timed out, a bad port
        why = getattr(error, "reason", None) or error
        return False, Text(
            f"the board at {url} did not answer ({why})",
            f"{url}의 현황판이 응답하지 않았습니다({why})",
        )


def refused(error):
    """The board's own reason for refusing (its JSON {"error": {"en", "ko"}}), else the status."""
    try:
        said = json.loads(error.read().decode("utf-8"))["error"]
        return Text(f"{said['en']} (HTTP {error.code})", f"{said['ko']}(HTTP {error.code})")
    except (OSError, ValueError, KeyError, TypeError):
        return Text(
            f"the board answered HTTP {error.code} {error.reason}",
            f"현황판이 HTTP {error.code} {error.reason}(으)로 응답했습니다",
        )


def check_arguments(parser, args):
    """tools/check.py's --report needs --name and --code: said before the checks run."""
    if not args.report:
        return
    if not args.code:
        parser.error("--report needs --code: the join code the instructor's board printed")
    problem = name_problem(args.name)
    if problem:
        parser.error(f"--report needs --name YOUR_NAME: {problem.en}")


def report(args, result, lang, out):
    """Send the result to args.report and print one line to `out` saying whether it arrived."""
    address, name = args.report, args.name
    delivered, why = send(address, payload(result, name, args.code))
    if delivered:
        line = Text(
            f"Reported to the board at {address} as {name}.",
            f"{address} 현황판에 {name} 이름으로 보고했습니다.",
        )
    else:
        line = Text(
            f"Report NOT delivered: {why.en}. The result above stands.",
            f"보고를 전달하지 못했습니다: {why.ko}. 위 검사 결과는 달라지지 않습니다.",
        )
    print(line[lang], file=out)
    return delivered
