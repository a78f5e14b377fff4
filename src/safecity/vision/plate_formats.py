"""Licence-plate formats per country: validate an OCR read and correct the classic confusions.

A format is a set of templates, one character class per position: `L` a letter, `D` a digit, `X` either.
A read is corrected against every template of the expected countries: where a position asks for a digit
and the OCR gave a letter it is often a confusion (O/0, I/1, B/8, S/5, Z/2, G/6), and the other way round.
The template needing the fewest substitutions wins; each substitution lowers the read's confidence, so a
heavily corrected read is never presented as certain (a person confirms any hit against the plate crop).

Why hand-written: no maintained package on PyPI validates plates of many countries; the templates below
are the national formats as published by each registration authority (current issue; older series and
personalised plates of the US states are covered by the generic `X` templates).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# letter <-> digit confusions of OCR on plate fonts
TO_DIGIT = {"O": "0", "Q": "0", "D": "0", "U": "0", "I": "1", "L": "1", "J": "1", "T": "1",
            "Z": "2", "B": "8", "S": "5", "G": "6", "A": "4", "E": "3"}  # fmt: skip
TO_LETTER = {"0": "O", "1": "I", "2": "Z", "8": "B", "5": "S", "6": "G", "4": "A", "3": "E", "7": "T"}
SUBSTITUTION_PENALTY = 0.1  # confidence lost per corrected character
MAX_SUBSTITUTIONS = 2  # beyond that the read is another text, not a misread plate
NOT_ALNUM = re.compile(r"[^A-Z0-9]")
# dates and times burnt into video (2014-05-13, 06:46:42) read like an 8-digit plate
TIMESTAMP = re.compile(r"^(19|20)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])|^([01]\d|2[0-3])[0-5]\d[0-5]\d$")


@dataclass(frozen=True, slots=True)
class CountryFormat:
    code: str
    name: str
    templates: tuple[str, ...]
    require_digit: bool = (
        True  # plates without a digit exist (vanity) but most text without one is not a plate
    )
    # letters never issued in serials, read as the digit they resemble where a digit may stand (most US
    # states issue no O, read as 0; France skips I, O, U; Italy I, O, Q, U)
    never: str = ""


def _x(lengths: range) -> tuple[str, ...]:
    return tuple("X" * n for n in lengths)


FORMATS: dict[str, CountryFormat] = {
    f.code: f
    for f in (
        # US: each state has its own serials (CA 1ABC234, NY/TX/PA ABC1234, ...); personalised plates too
        CountryFormat(
            "us", "United States", ("DLLLDDD", "LLLDDDD", "LLLDDD", "DLLDDD", *_x(range(5, 9))), never="O"
        ),
        CountryFormat("ca", "Canada", ("LLLLDDD", "LLLDDD", "DLLLDDD", *_x(range(5, 8)))),
        CountryFormat("mx", "Mexico", ("LLLDDDL", "LLLDDDD", "LLDDDDL")),
        CountryFormat("br", "Brazil (Mercosur and older)", ("LLLDLDD", "LLLDDDD")),
        CountryFormat("ar", "Argentina (Mercosur and older)", ("LLDDDLL", "LLLDDD")),
        CountryFormat("gb", "United Kingdom", ("LLDDLLL",)),
        CountryFormat("fr", "France", ("LLDDDLL",), never="IOU"),
        CountryFormat("it", "Italy", ("LLDDDLL",), never="IOQU"),
        CountryFormat("es", "Spain", ("DDDDLLL",)),
        CountryFormat("pt", "Portugal", ("LLDDLL", "DDLLDD", "DDDDLL", "LLDDDD")),
        # Germany: district 1-3 letters, 1-2 letters, 1-4 digits, optional E/H (electric, historic)
        CountryFormat(
            "de",
            "Germany",
            tuple(
                dict.fromkeys(
                    "L" * (a + b) + "D" * d + s
                    for a in (1, 2, 3)
                    for b in (1, 2)
                    for d in (1, 2, 3, 4)
                    for s in ("", "L")
                    if 4 <= a + b + d + len(s) <= 8
                )
            ),
        ),
        CountryFormat("nl", "Netherlands", ("LLDDDL", "DLLLDD", "DDLLLD", "LDDDLL", "LLDDDL", "DLLDDD")),
        CountryFormat("pl", "Poland", ("LLDDDDD", "LLDDDLL", "LLLDDDD", "LLLDLLL", "LLLDDLL")),
        CountryFormat("in", "India", ("LLDDLLDDDD", "LLDDLDDDD")),
        # anywhere else: 4-8 characters with a digit
        CountryFormat("generic", "Any", _x(range(4, 9))),
    )
}


@dataclass(frozen=True, slots=True)
class FormatMatch:
    plate: str  # corrected text
    country: str  # code of the matching format
    substitutions: int  # characters changed to fit the template
    specific: bool = False  # fits a national template, not only the any-character (`X`) ones


def normalize(raw: str) -> str:
    """Upper case, separators and spaces removed (plates are read as their characters only)."""
    return NOT_ALNUM.sub("", raw.upper())


def _fit(text: str, template: str, never: str = "") -> tuple[str, int] | None:
    out: list[str] = []
    changes = 0
    for ch, cls in zip(text, template, strict=True):
        if ch in never:  # not issued: the digit it resembles, where a digit may stand
            if cls == "L":
                return None
            out.append(TO_DIGIT[ch])
        elif cls == "X" or (cls == "D" and ch.isdigit()) or (cls == "L" and ch.isalpha()):
            out.append(ch)
        elif cls == "D" and ch in TO_DIGIT:
            out.append(TO_DIGIT[ch])
            changes += 1
        elif cls == "L" and ch in TO_LETTER and TO_LETTER[ch] not in never:
            out.append(TO_LETTER[ch])
            changes += 1
        else:
            return None
    return "".join(out), changes


def _specificity(template: str) -> int:
    return sum(c != "X" for c in template)


def match(text: str, countries: tuple[str, ...]) -> FormatMatch | None:
    """The best template fit of a normalized read among `countries` (in order of preference); None when
    no format accepts it. Fewest substitutions first, then the most specific template, then country order."""
    if TIMESTAMP.match(text):
        return None
    best: tuple[tuple[int, int, int], FormatMatch] | None = None
    for rank, code in enumerate(countries):
        fmt = FORMATS[code]
        for template in fmt.templates:
            if len(template) != len(text):
                continue
            fitted = _fit(text, template, fmt.never)
            if fitted is None:
                continue
            plate, changes = fitted
            if changes > MAX_SUBSTITUTIONS:
                continue
            if fmt.require_digit and not any(c.isdigit() for c in text):  # words read as digits are no plate
                continue
            key = (changes, -_specificity(template), rank)
            if best is None or key < best[0]:
                best = (key, FormatMatch(plate, code, changes, _specificity(template) > 0))
    return None if best is None else best[1]


# look-alikes folded together for fuzzy hotlist matching (O/0, I/1, B/8 and the like): two plates with the
# same fold differ only by classic OCR confusions
LOOK_ALIKE = str.maketrans({"O": "0", "Q": "0", "D": "0", "I": "1", "L": "1", "B": "8", "S": "5",
                            "Z": "2", "G": "6"})  # fmt: skip


def fold(plate: str) -> str:
    """The normalized plate with look-alike characters folded together (for fuzzy matching)."""
    return normalize(plate).translate(LOOK_ALIKE)


def corrected_confidence(confidence: float, found: FormatMatch) -> float:
    return max(0.0, confidence - SUBSTITUTION_PENALTY * found.substitutions)


def unknown_countries(codes: tuple[str, ...]) -> list[str]:
    return [c for c in codes if c not in FORMATS]
