"""Text in both languages of the tutorial: English first, then Korean, everywhere.

The checker, the doctor and the other tools say everything a person reads through Text. Plain
Python (no dataclasses), so the doctor can import it on a Python too old to run anything else.
"""

import locale
import os

LANGS = ("en", "ko")


def default_lang():
    """The learner's language as their locale says: "ko" for a Korean one, else "en"."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if os.environ.get(var):
            return "ko" if os.environ[var].lower().startswith("ko") else "en"
    try:
        name = locale.getlocale()[0] or ""
    except ValueError:
        name = ""
    return "ko" if name.lower().startswith("ko") else "en"


class Text:
    """One sentence (or word) in English and in Korean."""

    __slots__ = ("en", "ko")

    def __init__(self, en, ko):
        self.en = en
        self.ko = ko

    def __getitem__(self, lang):
        """text["ko"]: the JSON form of a result reads the same way."""
        if lang not in LANGS:
            raise KeyError(lang)
        return getattr(self, lang)

    def pick(self, lang):
        """One language; any other value (the doctor's "both") gives "Korean / English"."""
        return self[lang] if lang in LANGS else f"{self.ko} / {self.en}"

    def format(self, **values):
        return Text(self.en.format(**values), self.ko.format(**values))

    def to_dict(self):
        return {"en": self.en, "ko": self.ko}

    def __eq__(self, other):
        return isinstance(other, Text) and (self.en, self.ko) == (other.en, other.ko)

    def __hash__(self):
        return hash((self.en, self.ko))

    def __repr__(self):
        return f"Text({self.en!r}, {self.ko!r})"
