"""Month names in the language an export was written in (`17. März 2011`, `17 de marzo de
2011`, `17 févr. 2011`), read as the English abbreviations strptime knows (`17 Mar 2011`).

DuckDB's and Python's strptime read English month names only. The language is found from a
sample of a column's values: the one whose month names (written and stand-alone forms, full
and abbreviated, from the Unicode CLDR data that Babel ships) and date words (`de` in
Spanish long dates, weekday names) account for every word sampled. The words are then
replaced in SQL, on every row, and the column's format is found and checked as for any
other date (pipeline.ingest.exports). When languages disagree on what a sampled word means
(`listopad` is November in Czech and October in Croatian), no language is chosen and the
column stays text, for the mapping to convert.

Babel is a dependency of dbt's (agate), pinned in requirements.txt since this module
imports it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from babel import Locale, localedata

from pipeline.ingest.safety import quote_literal

# A word of a date: letters (any script), with the dot of an abbreviation (`févr.`).
WORD = re.compile(r"[^\W\d_]+\.?")
ENGLISH = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Words strptime reads itself (English month names, AM and PM).
READ_AS_IS = frozenset(
    {name.lower() for name in ENGLISH}
    | {name.lower() for name in Locale("en").months["format"]["wide"].values()}
    | {"am", "pm", "sept"}
)


@dataclass(frozen=True)
class MonthNames:
    """One language's month names and the other words of its dates."""

    language: str
    # Each month name, lower case, without an abbreviation's dot: its month (1-12).
    months: dict[str, int]
    # Words of its dates that say nothing strptime needs (`de`, weekday names): dropped.
    dropped: frozenset[str]

    def sql(self, column: str) -> str:
        """The text of `column` (SQL) with this language's month names as English
        abbreviations, its other date words dropped, and spaces collapsed."""
        value = f"lower(trim({column}))"
        for name in sorted(self.months, key=len, reverse=True):
            value = _replace_word(value, name, ENGLISH[self.months[name] - 1])
        for word in sorted(self.dropped, key=len, reverse=True):
            value = _replace_word(value, word, "")
        return f"trim(regexp_replace({value}, '\\s+', ' ', 'g'))"


def find(sample: list[str]) -> MonthNames | None:
    """The language whose month names the sampled values are written with; None when they
    have no words, only English ones, or words no single meaning in any language explains."""
    if not sample or not all(re.search(r"\d", value) for value in sample):
        return None  # a date with a month name still has a day or a year
    words = {match.rstrip(".").lower() for value in sample for match in WORD.findall(value)}
    if not words or words <= READ_AS_IS or not words <= _every_word():
        return None
    fits = [
        language
        for language in _languages()
        if words & language.months.keys() and words <= language.months.keys() | language.dropped
    ]
    if not fits:
        return None
    meanings = {tuple(sorted((w, language.months.get(w)) for w in words)) for language in fits}
    return fits[0] if len(meanings) == 1 else None


def language_name(language: str) -> str:
    """A language's name in English (`German` for `de`), for messages."""
    return str(Locale.parse(language).english_name)


def _replace_word(value: str, word: str, by: str) -> str:
    """SQL replacing `word` (and an abbreviation's dot after it) where it stands alone."""
    pattern = quote_literal(r"(^|[^\pL])" + re.escape(word) + r"\.?([^\pL]|$)")
    replacement = quote_literal(r"\1" + by + r"\2")
    return f"regexp_replace({value}, {pattern}, {replacement}, 'g')"


@functools.cache
def _languages() -> tuple[MonthNames, ...]:
    """Every language of the CLDR data (not its regional variants), English excluded."""
    found = []
    for identifier in sorted(localedata.locale_identifiers()):
        if "_" in identifier or identifier in ("en", "root"):
            continue
        language = _month_names(Locale.parse(identifier))
        if language.months:
            found.append(language)
    return tuple(found)


@functools.cache
def _every_word() -> frozenset[str]:
    """The words of every language's dates, to rule out a column of other words quickly."""
    return frozenset(
        word for language in _languages() for word in (*language.months, *language.dropped)
    )


def _month_names(locale: Locale) -> MonthNames:
    """A locale's month names (a name two months share is left out) and other date words."""
    months: dict[str, int] = {}
    shared: set[str] = set()
    for context in ("format", "stand-alone"):
        for width in ("wide", "abbreviated"):
            for month, name in locale.months[context][width].items():
                word = name.rstrip(".").lower()
                if months.setdefault(word, month) != month:
                    shared.add(word)
    days = {
        word.rstrip(".").lower()
        for context in ("format", "stand-alone")
        for width in ("wide", "abbreviated")
        for name in locale.days[context][width].values()
        for word in WORD.findall(name)
    }
    literals = {
        word.lower()
        for length in ("full", "long", "medium", "short")
        for text in re.findall(r"'([^']+)'", locale.date_formats[length].pattern)
        for word in WORD.findall(text)
    }
    plain = {w: month for w, month in months.items() if w not in shared and " " not in w}
    return MonthNames(str(locale), plain, frozenset((days | literals) - plain.keys() - READ_AS_IS))
