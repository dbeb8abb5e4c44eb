"""Start a stage in workspace/STAGE (git-ignored), to build it yourself step by step.

    uv run python tools/start.py STAGE [--force] [--lang ko|en]

part1_echo starts from a fresh `django-admin startproject mysite .` and `python manage.py startapp
chat`; every later stage from a copy of the previous stage as this repo has it. An existing folder
is never replaced without --force. Then follow the stage's "Build it yourself" steps and check
your work with tools/check.py.
"""

import argparse
import shutil
import sys
from pathlib import Path

from bilingual import Text, default_lang
from build_along import start_folder
from notes import BUILD_SECTION, NOTES_FILE
from stages import ROOT, STAGES, display

TEXT = {
    "exists": Text(
        "{path} already exists: pass --force to replace it (what you changed there is lost), or "
        "keep working in it.",
        "{path} 폴더가 이미 있습니다. 새로 만들려면 --force를 붙이세요(그 폴더에서 바꾼 "
        "내용은 사라집니다). 아니면 그 폴더에서 계속 작업하세요.",
    ),
    "made": Text("Made {path} ({how}).", "{path} 폴더를 만들었습니다({how})."),
    "fresh": Text(
        "a fresh startproject + startapp", "startproject + startapp으로 새로 만든 프로젝트"
    ),
    "copy": Text("a copy of {previous}", "{previous} 복사본"),
    "next": Text(
        "Next: open {notes} (section \u201c{section}\u201d) and make each step's change in {path}.",
        "다음: {notes}의 \u201c{section}\u201d 절을 열고, 각 단계의 변경을 {path}에서 "
        "직접 해 보세요.",
    ),
    "check": Text(
        "When you are done: uv run python tools/check.py {stage}",
        "다 했으면: uv run python tools/check.py {stage}",
    ),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=STAGES)
    parser.add_argument("--force", action="store_true", help="replace the folder if it exists")
    parser.add_argument("--lang", choices=["ko", "en"], default=None)
    parser.add_argument("--dest", type=Path, help="make the folder here instead of workspace/STAGE")
    args = parser.parse_args(argv)
    lang = args.lang or default_lang()
    text = {key: words[lang] for key, words in TEXT.items()}
    dest = args.dest or ROOT / "workspace" / args.stage
    if dest.exists():
        if not args.force:
            print(text["exists"].format(path=display(dest)))
            return 1
        shutil.rmtree(dest)
    start_folder(args.stage, dest)
    index = STAGES.index(args.stage)
    how = text["fresh"] if index == 0 else text["copy"].format(previous=STAGES[index - 1])
    print(text["made"].format(path=display(dest), how=how))
    notes = display(ROOT / args.stage / NOTES_FILE[lang])
    print(text["next"].format(notes=notes, section=BUILD_SECTION[lang], path=display(dest)))
    check = args.stage if args.dest is None else f"{args.stage} {display(dest)}"
    print(text["check"].format(stage=check))
    return 0


if __name__ == "__main__":
    sys.exit(main())
