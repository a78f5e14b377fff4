"""Plate formats: reads are validated per country and letter/digit confusions corrected."""

from __future__ import annotations

import pytest

from safecity.vision.plate_formats import FORMATS, corrected_confidence, match, normalize
from safecity.vision.plates import PlateRead, PlateVote


def test_normalize_drops_separators_and_spaces() -> None:
    assert normalize("ab-123 cd") == "AB123CD"
    assert normalize("YG9=X2G") == "YG9X2G"


@pytest.mark.parametrize(
    ("read", "countries", "plate", "country", "changes"),
    [
        ("AB123CD", ("fr",), "AB123CD", "fr", 0),
        ("A8123CD", ("fr",), "AB123CD", "fr", 1),  # 8 where a letter stands is a B
        ("AB12SCD", ("it",), "AB125CD", "it", 1),  # S where a digit stands is a 5
        ("1234BCD", ("es",), "1234BCD", "es", 0),
        ("I234BCD", ("es",), "1234BCD", "es", 1),
        ("AB12CDE", ("gb",), "AB12CDE", "gb", 0),
        ("ABC1D23", ("br",), "ABC1D23", "br", 0),  # Mercosur
        ("OSG719", ("us",), "0SG719", "us", 0),  # US serials never use O: no guess, a rule
        ("6XIU641", ("us",), "6XIU641", "us", 0),
        ("CHOP8Y", ("us",), "CH0P8Y", "us", 0),
        ("7ABC123", ("us",), "7ABC123", "us", 0),
    ],
)
def test_match_corrects_per_country(read: str, countries: tuple[str, ...], plate: str, country: str,
                                    changes: int) -> None:  # fmt: skip
    found = match(read, countries)
    assert found is not None
    assert (found.plate, found.country, found.substitutions) == (plate, country, changes)


@pytest.mark.parametrize(
    "read", ["ARIZONA", "NORTHERN", "20140616064642", "20140513", "064642", "3148455900", "AB"]
)
def test_words_timestamps_and_phone_numbers_are_no_plate(read: str) -> None:
    assert match(read, ("us", "generic")) is None


def test_a_read_that_fits_no_expected_country_is_refused() -> None:
    assert match("AB123CD", ("es",)) is None  # a French plate where only Spanish ones are expected
    assert match("AB123CD", ("es", "fr")) is not None


def test_corrections_lower_the_confidence() -> None:
    found = match("A8123C5", ("fr",))
    assert found is not None and found.substitutions == 2
    assert found.plate == "AB123CS"
    assert corrected_confidence(0.9, found) == pytest.approx(0.7)


def test_every_format_has_templates_of_plate_length() -> None:
    for fmt in FORMATS.values():
        assert fmt.templates and all(4 <= len(t) <= 10 and set(t) <= set("LDX") for t in fmt.templates)


def _read(plate: str, confidence: float) -> PlateRead:
    return PlateRead(plate, plate, confidence, "fr", (0, 0, 10, 5))


def test_vote_takes_each_character_from_the_most_confident_reads() -> None:
    vote = PlateVote()
    vote.add([_read("AB123CD", 0.9), _read("AB128CD", 0.6), _read("A8123CD", 0.5), _read("AB123C", 0.95)])
    result = vote.result()
    assert result is not None
    assert result.plate == "AB123CD"  # length 7 has 2.0 of support against 0.95 for length 6
    assert 0 < result.confidence < 0.9


def test_empty_vote_has_no_result() -> None:
    assert PlateVote().result() is None
