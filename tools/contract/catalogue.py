"""The mistake catalogue, tools/mistakes.toml: what learners really get wrong, each reproduced.

The checker looks a mistake up here (its hint and the file to look at); the repo's tests make
each one in a copy of its reference stage (apply_mistake) and expect the checker to name it.
"""

import functools
import shutil
import tomllib

from bilingual import Text
from stages import ROOT, copy_stage

CATALOGUE_PATH = ROOT / "tools" / "mistakes.toml"


@functools.cache
def load_catalogue():
    """{mistake id: entry} (read once per process: the file does not change under a run)."""
    with open(CATALOGUE_PATH, "rb") as f:
        return tomllib.load(f)


def look_at_for(mistake):
    """The file to look at for this mistake, or None."""
    return load_catalogue().get(mistake, {}).get("file") if mistake else None


def hint(mistake):
    """The mistake's hint as Text, or None for an id the catalogue does not have."""
    entry = load_catalogue().get(mistake)
    return Text(entry["en"], entry["ko"]) if entry else None


def apply_mistake(mistake, dest):
    """A copy of the mistake's reference stage at dest, with the mistake made in it (for the
    tests: a learner never runs this)."""
    entry = load_catalogue()[mistake]
    dest = copy_stage(entry["stage"], dest)
    for change in entry["change"]:
        if "delete" in change:
            shutil.rmtree(dest / change["delete"])
            continue
        path = dest / change["file"]
        if "copy_from" in change:
            shutil.copyfile(ROOT / change["copy_from"] / change["file"], path)
        elif "content" in change:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(change["content"], encoding="utf-8")
        else:
            text = path.read_text(encoding="utf-8")
            count = change.get("count", 1)
            if text.count(change["old"]) != count:
                raise ValueError(
                    f"{mistake}: expected {count} of {change['old']!r} in {entry['stage']}/"
                    f"{change['file']}, found {text.count(change['old'])}"
                )
            path.write_text(text.replace(change["old"], change["new"]), encoding="utf-8")
    return dest
