"""The board's page, in English or Korean: ?lang=, else --lang, else the browser's language."""

from pathlib import Path

from bilingual import LANGS, Text
from contract.catalogue import load_catalogue
from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from stages import STAGES

from board_site.state import STATUSES

STATIC = Path(__file__).resolve().parent / "static"
TYPES = {".js": "text/javascript", ".css": "text/css"}
# The page's words; the script fills in {n}, {stages} and the like.
TEXTS = {
    "title": Text("Classroom board", "강의실 현황판"),
    "learner": Text("Learner", "학습자"),
    "pass": Text("holds", "통과"),
    "fail": Text("failing", "실패"),
    "error": Text("could not check", "검사하지 못함"),
    "none": Text("not yet", "검사 전"),
    "none_title": Text("not yet checked", "아직 검사하지 않음"),
    "counts": Text(
        "{pass} hold · {fail} failing · {none} not yet",
        "통과 {pass} · 실패 {fail} · 검사 전 {none}",
    ),
    "common": Text("Most common mistake now", "지금 가장 흔한 실수"),
    "common_detail": Text(
        "{n} of {total} learners, in {stages}", "{stages}에서 학습자 {total}명 중 {n}명"
    ),
    "no_common": Text(
        "No catalogued mistake on the board right now.",
        "지금 현황판에는 카탈로그에 있는 실수가 없습니다.",
    ),
    "learners": Text("{n} learners", "학습자 {n}명"),
    "live": Text("live", "실시간"),
    "offline": Text("reconnecting…", "다시 연결하는 중…"),
    "empty": Text(
        "No reports yet. Each learner runs, at every checkpoint:",
        "아직 보고가 없습니다. 학습자는 체크포인트마다 다음 명령을 실행합니다.",
    ),
    "command": Text(
        "uv run python tools/check.py STAGE --report {address} --name YOUR_NAME --code CODE",
        "uv run python tools/check.py STAGE --report {address} --name 이름 --code 참가_코드",
    ),
    "at": Text("reported at {time}", "{time}에 보고"),
    "other_lang": Text("한국어", "English"),
}


def page_lang(request):
    asked = request.GET.get("lang")
    if asked in LANGS:
        return asked
    if settings.BOARD_LANG in LANGS:
        return settings.BOARD_LANG
    accept = request.headers.get("Accept-Language", "").lower()
    return "ko" if accept.startswith("ko") else "en"


def page(request):
    lang = page_lang(request)
    catalogue = load_catalogue()
    data = {
        "lang": lang,
        "address": settings.BOARD_ADDRESS,
        "stages": STAGES,
        "statuses": STATUSES,
        "texts": {key: text[lang] for key, text in TEXTS.items()},
        "hints": {mistake: entry[lang] for mistake, entry in catalogue.items()},
    }
    response = render(
        request,
        "board_site/page.html",
        {
            "lang": lang,
            "title": TEXTS["title"][lang],
            "other_lang": "ko" if lang == "en" else "en",
            "other_label": TEXTS["other_lang"][lang],
            "data": data,
        },
    )
    # Only the board's own script, style and socket: a name is text, never markup or script.
    response["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    response["Cache-Control"] = "no-store"
    return response


def asset(request, name):
    path = STATIC / name
    return HttpResponse(path.read_bytes(), content_type=f"{TYPES[path.suffix]}; charset=utf-8")
