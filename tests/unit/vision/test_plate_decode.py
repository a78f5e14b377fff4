"""Template-constrained CTC decoding: the most probable text fitting a country's format, from the
recognizer's per-step probabilities rather than its greedy text."""

from __future__ import annotations

import numpy as np

from safecity.vision.plate_decode import INDEX, decode, greedy, plate_probs

GAP = {"-": 0.95}  # a blank step between characters


def lattice(*steps: dict[str, float]) -> np.ndarray:
    """(T, 37) probabilities, one row per step: the named characters ("-": blank), the rest spread thin."""
    p = np.full((len(steps), 37), 1e-4, np.float32)
    for t, step in enumerate(steps):
        for ch, v in step.items():
            p[t, 36 if ch == "-" else INDEX[ch]] = v
    return p / p.sum(axis=1, keepdims=True)


def spell(text: str, **doubt: dict[str, float]) -> np.ndarray:
    """A clear read of `text` (a blank after each character); `doubt` replaces the step of the character
    at a position (key `pN`)."""
    steps: list[dict[str, float]] = []
    for i, ch in enumerate(text):
        steps += [doubt.get(f"p{i}", {ch: 0.95}), GAP]
    return lattice(GAP, *steps)


def test_a_clear_read_decodes_to_itself_with_a_high_confidence() -> None:
    best = decode(spell("7ABC123"), ("us",))[0]
    assert (best.plate, best.country, best.specific) == ("7ABC123", "us", True)
    assert best.confidence > 0.9


def test_the_models_second_choice_fixes_a_confusion_the_look_alike_table_gets_wrong() -> None:
    """California DLLLDDD: the recognizer says L (0.6) or 4 (0.3) at the first place. The fixed table
    would turn L into 1; the probabilities say 4. The national template wins over "any characters" once
    the latter carries its prior, and the doubt shows in the confidence."""
    probs = spell("LGLS168", p0={"L": 0.6, "4": 0.3})
    assert greedy(probs)[0] == "LGLS168"
    best = decode(probs, ("us",), generic_prior=-1.0)[0]
    assert (best.plate, best.template) == ("4GLS168", "DLLLDDD")
    clear = decode(spell("4GLS168"), ("us",), generic_prior=-1.0)[0]
    assert best.confidence < clear.confidence


def test_a_repeated_letter_needs_the_blank_between() -> None:
    assert decode(spell("7AAB123"), ("us",))[0].plate == "7AAB123"
    merged = lattice(GAP, {"7": 0.95}, {"A": 0.95}, {"A": 0.95}, {"B": 0.95}, {"1": 0.95}, {"2": 0.95},
                     {"3": 0.95}, GAP)  # fmt: skip
    assert all(d.plate != "7AAB123" for d in decode(merged, ("us",)))  # one A held two steps is one A


def test_a_graphic_read_as_an_extra_character_is_skipped_by_the_national_template() -> None:
    """A doubtful `4` (a logo) before a Texas-style ABC1234: with a prior against "any characters" the
    8-character read loses to the national 7-character one, whose confidence pays for the skip."""
    probs = lattice(GAP, {"4": 0.5, "-": 0.45}, GAP, *[s for ch in "ABC1234" for s in ({ch: 0.95}, GAP)])
    assert greedy(probs)[0] == "4ABC1234"
    best = decode(probs, ("us",), generic_prior=-3.0)[0]
    assert best.plate == "ABC1234" and best.specific
    assert decode(probs, ("us",), generic_prior=0.0)[0].plate == "4ABC1234"


def test_never_issued_letters_are_their_digit_and_words_are_no_plate() -> None:
    assert decode(spell("OSG719"), ("us",))[0].plate == "0SG719"  # US serials issue no O
    # its O is no digit: a word, no plate; only a national template forced onto it, at a confidence of nil
    assert all(d.confidence < 0.1 for d in decode(spell("NORTHERN"), ("us",)))
    assert decode(spell("20140513"), ("us", "generic")) == []  # a date burnt into the video


def test_other_countries_formats() -> None:
    assert decode(spell("AB123CD"), ("fr",))[0].plate == "AB123CD"
    # forced onto the Spanish DDDDLLL through look-alikes (A->4, B->8...) it is no confident read
    assert all(d.confidence < 0.5 for d in decode(spell("AB123CD"), ("es",)))
    german = decode(spell("BMW1234"), ("de", "generic"))[0]
    assert german.country == "de" and german.specific


def test_plate_probs_folds_case_and_separators() -> None:
    characters = ["blank", "a", "A", "-", "1", " "]
    probs = np.array([[0.1, 0.3, 0.4, 0.1, 0.1, 0.0]], np.float32)
    folded = plate_probs(probs, characters)
    assert folded.shape == (1, 37)
    assert abs(folded[0, INDEX["A"]] - 0.7) < 1e-6 and abs(folded[0, INDEX["1"]] - 0.1) < 1e-6
    assert abs(folded[0, 36] - 0.2) < 1e-6  # blank and the dash
