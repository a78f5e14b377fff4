"""Plate formats: reads are validated per country and letter/digit confusions corrected."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from safecity.vision.plate_formats import FORMATS, corrected_confidence, match, normalize
from safecity.vision.plates import PlateRead, PlateVote, rank, rectify, stretch_contrast


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


def test_a_national_template_is_specific_any_characters_is_not() -> None:
    national, anything = match("7ABC123", ("us",)), match("R8Z0503", ("us",))
    assert national is not None and national.specific  # California DLLLDDD
    assert anything is not None and not anything.specific  # only the vanity XXXXXXX fits
    german = match("BMW1234", ("de", "generic"))
    assert german is not None and german.specific and german.country == "de"


def test_a_read_fitting_a_national_template_ranks_first() -> None:
    """Of the texts on a vehicle the plate fits a national format; a dealer's phone number or a frame
    slogan fits only "any 4-8 characters", even when the recognizer is a little surer of it."""
    plate = PlateRead("7ABC123", "7ABC123", 0.90, "us", (0, 0, 10, 5), specific=True)
    other = PlateRead("4072814", "4072814", 0.93, "us", (0, 0, 10, 5), specific=False)
    assert sorted([other, plate], key=rank, reverse=True)[0] is plate
    unsure = PlateRead("7ABC128", "7ABC128", 0.6, "us", (0, 0, 10, 5), specific=True)
    assert rank(other) > rank(unsure)  # a bonus, not a veto


def test_rectify_undoes_the_perspective_and_tightens_along_the_box() -> None:
    """A white plate seen in perspective (a trapezoid) comes out as an upright rectangle; a negative
    vertical growth cuts the rows above and below (the frame), not the characters' ends."""
    image = np.zeros((200, 300, 3), np.uint8)
    quad = np.array([[60, 50], [240, 70], [240, 130], [60, 150]], np.float32)  # left side nearer
    cv2.fillPoly(image, [quad.astype(np.int32)], (255, 255, 255))
    view = rectify(image, quad)
    assert view.shape[1] > view.shape[0]
    inner = view[3:-3, 3:-3]
    assert inner.mean() > 250  # only plate inside: the trapezoid filled the rectangle
    tight = rectify(image, quad, 0.0, -0.2)
    assert tight.shape[1] == pytest.approx(view.shape[1], abs=2)
    assert tight.shape[0] < 0.75 * view.shape[0]
    wide = rectify(image, quad, 0.5, 0.0)
    assert wide.shape[1] > view.shape[1] + 70  # half the mean height (80 px) on each side
    assert wide[:, :3].mean() < 5  # grown along the box: the black around the plate comes in


def test_stretch_contrast_spans_black_to_white() -> None:
    dim = np.full((20, 60, 3), 100, np.uint8)
    dim[5:15, 10:50] = 140  # dark characters on a dim plate: 40 grey levels apart
    out = stretch_contrast(dim)
    assert out.shape == dim.shape and out.min() == 0 and out.max() == 255


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
