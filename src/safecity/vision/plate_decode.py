"""Template-constrained CTC decoding: the most probable plate text that fits an expected country's format.

The recognizer (PP-OCR, a CTC model) gives, for each of T time steps across the text line, a probability
for each character and for "blank". Greedy decoding (the best character per step, repeats merged, blanks
dropped) and then correcting the text against a format loses what the model knew: a California
`LGLS168` whose first character the model found 30% likely to be `4` is corrected by a fixed look-alike
table to `1GLS168`, where the national template `DLLLDDD` decoded against the probabilities gives
`4GLS168`. Here every template of the expected countries (`plate_formats`) is decoded against the
probabilities themselves: a Viterbi search over the CTC lattice whose position i may only emit a character
of the template's class (`L` letter, `D` digit, `X` either). Per template the best path and its string
come out; the template whose best path is most probable wins (`generic_prior` can favour national
templates over the any-character ones; a national template wins a tie).

- **Confusions.** Where a digit must stand, a look-alike letter (O/0, B/8, S/5...) still counts, at
  `confusion` times its probability, and the other way round: a heavily corrected read scores low.
- **Never-issued letters** (US O, French I/O/U) add their probability to the digit they resemble.
- **Graphics and separators.** Anything that is not a letter or digit (dash, dot, a logo read as a
  symbol) counts as blank; an extra character read from a plate's graphics (a cactus as `4`) is skipped
  by a template one shorter, at the cost of the probability that it was a character.
- **Confidence** is the mean over the plate's characters of each character's peak probability on the
  chosen path (look-alikes at their reduced weight), times the per-character geometric mean of how much
  less probable the chosen path is than the unconstrained best one: comparable with the recognizer's own
  score, and honest: a forced, corrected or skipped character lowers it (a 14-digit timestamp cut down
  to 8 characters scores near 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from safecity.vision.plate_formats import FORMATS, TIMESTAMP, TO_DIGIT, TO_LETTER

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
INDEX = {c: i for i, c in enumerate(ALPHABET)}
DIGITS = np.array([c.isdigit() for c in ALPHABET])
LETTERS = ~DIGITS
NEG = -1e9  # log of "impossible" (finite: keeps the arithmetic free of nan)
CONFUSION = 0.05  # weight of a look-alike of the other class (B where a digit must stand: as an 8)
MAX_EXTRA = 3  # greedy reads longer than the longest template by more than this are not decoded (cost)
# log-prior of an any-character (`X`) template against a national one: 0 was best on either half of the
# benchmark (of 0 to -4; docs/plates.md); a national template still wins ties and the reader's rank bonus
GENERIC_PRIOR = 0.0


@dataclass(frozen=True, slots=True)
class Decoded:
    plate: str
    country: str
    template: str
    score: float  # log-probability of the best path plus the template's prior
    confidence: float  # mean peak probability of the plate's characters, 0..1
    specific: bool  # a national template, not only "any characters"


def plate_probs(probs: np.ndarray, characters: list[str]) -> np.ndarray:
    """(T, 37): per time step the probability of each plate character (`ALPHABET`, upper and lower case
    summed) and, last, of anything else (blank, separators, other scripts)."""
    cols: dict[int, list[int]] = {}
    for k, ch in enumerate(characters):
        i = INDEX.get(ch.upper()) if len(ch) == 1 else None
        if i is not None:
            cols.setdefault(i, []).append(k)
    out = np.zeros((probs.shape[0], len(ALPHABET) + 1), np.float32)
    for i, ks in cols.items():
        out[:, i] = probs[:, ks].sum(axis=1)
    out[:, -1] = np.clip(1.0 - out[:, :-1].sum(axis=1), 1e-6, 1.0)
    return out


def _class_emissions(p: np.ndarray, never: str, confusion: float) -> dict[str, np.ndarray]:
    """Per character class (L, D, X) the (T, 36) emission probability of each character."""
    p = p[:, :-1].copy()
    for ch in never:  # a never-issued letter is the digit it resembles
        p[:, INDEX[TO_DIGIT[ch]]] += p[:, INDEX[ch]]
        p[:, INDEX[ch]] = 0.0
    digit = np.where(DIGITS, p, 0.0)
    letter = np.where(LETTERS, p, 0.0)
    for src, dst in TO_DIGIT.items():  # a look-alike letter where a digit must stand
        if src not in never:
            digit[:, INDEX[dst]] += confusion * p[:, INDEX[src]]
    for src, dst in TO_LETTER.items():
        if dst not in never:
            letter[:, INDEX[dst]] += confusion * p[:, INDEX[src]]
    return {"D": digit, "L": letter, "X": p}


@dataclass(slots=True)
class _Lattice:
    """The forward pass of `_viterbi` for n templates of one length: scores and back pointers."""

    emit: np.ndarray  # (T, n, L, 36) log emissions
    scores: np.ndarray  # (n,) best path per template
    chars: np.ndarray  # (n, L, 36) last step's character states
    blanks: np.ndarray  # (n, L + 1) last step's blank states
    back_c: np.ndarray  # (T, n, L, 36): 0 stay, 1 from blank, 2 from the previous position
    back_p: np.ndarray  # (T, n, L, 36): the previous position's character when 2
    back_b: np.ndarray  # (T, n, L + 1): 1 when the blank came from the previous character state
    arg_c: np.ndarray  # (T, n, L): that character


def _viterbi(emit: np.ndarray, blank: np.ndarray) -> _Lattice:
    """Best CTC paths for n templates of one length L at once. `emit` (T, n, L, 36) log emissions of
    each template position, `blank` (T,) log blank (anything but a plate character)."""
    steps, n, length, k = emit.shape
    chars = np.full((n, length, k), NEG)  # state: position i emitting character c
    blanks = np.full((n, length + 1), NEG)  # state: blank after i characters
    chars[:, 0] = emit[0, :, 0]
    blanks[:, 0] = blank[0]
    back_c = np.zeros((steps, n, length, k), np.int8)
    back_p = np.zeros((steps, n, length, k), np.int8)
    back_b = np.zeros((steps, n, length + 1), np.bool_)
    arg_c = np.zeros((steps, n, length), np.int8)
    ar = np.arange(k)
    rows = np.arange(n)[:, None]
    cols = np.arange(length)[None, :]
    for t in range(1, steps):
        top = chars.argmax(axis=2)  # (n, L)
        best = np.take_along_axis(chars, top[:, :, None], axis=2)[:, :, 0]
        masked = chars.copy()
        masked[rows, cols, top] = NEG
        second_arg = masked.argmax(axis=2)
        second = np.take_along_axis(masked, second_arg[:, :, None], axis=2)[:, :, 0]
        back_b[t, :, 1:] = best > blanks[:, 1:]
        arg_c[t] = top
        new_blanks = blanks.copy()
        new_blanks[:, 1:] = np.maximum(blanks[:, 1:], best)
        # into position i: stay, from blank i, or from position i-1 with another character (a repeat
        # needs a blank between)
        prev = np.full((n, length, k), NEG)
        prev_arg = np.zeros((n, length, k), np.int8)
        if length > 1:
            same = ar[None, None, :] == top[:, :-1, None]
            prev[:, 1:] = np.where(same, second[:, :-1, None], best[:, :-1, None])
            prev_arg[:, 1:] = np.where(same, second_arg[:, :-1, None], top[:, :-1, None])
        options = np.stack([chars, np.broadcast_to(blanks[:, :length, None], (n, length, k)), prev])
        back_c[t] = options.argmax(axis=0)
        back_p[t] = prev_arg
        chars = options.max(axis=0) + emit[t]
        blanks = new_blanks + blank[t]
    scores = np.maximum(blanks[:, length], chars[:, length - 1].max(axis=1))
    return _Lattice(emit, scores, chars, blanks, back_c, back_p, back_b, arg_c)


def _trace(lat: _Lattice, j: int) -> tuple[list[int], np.ndarray]:
    """Template j's best path: its characters and each one's peak log emission."""
    steps, _, length, _ = lat.emit.shape
    out = [0] * length
    peaks = np.full(length, NEG)
    end_c = lat.chars[j, length - 1].max()
    in_blank = bool(lat.blanks[j, length] >= end_c)
    pos, ch = length, 0
    if not in_blank:
        pos, ch = length - 1, int(lat.chars[j, length - 1].argmax())
    for t in range(steps - 1, -1, -1):
        if in_blank:
            if t > 0 and pos > 0 and lat.back_b[t, j, pos]:
                in_blank, pos, ch = False, pos - 1, int(lat.arg_c[t, j, pos - 1])
            continue
        out[pos] = ch
        peaks[pos] = max(peaks[pos], lat.emit[t, j, pos, ch])
        how = lat.back_c[t, j, pos, ch]
        if how == 1:
            in_blank = True
        elif how == 2:
            ch, pos = int(lat.back_p[t, j, pos, ch]), pos - 1
    return out, peaks


def decode(
    probs: np.ndarray,
    countries: tuple[str, ...],
    *,
    confusion: float = CONFUSION,
    generic_prior: float = GENERIC_PRIOR,
) -> list[Decoded]:
    """Every template of `countries` decoded against `probs` ((T, 37), from `plate_probs`), best first.
    A read that fits no template is not here (the caller decides what to do with the greedy text)."""
    raw, _ = greedy(probs)
    if TIMESTAMP.match(raw):  # dates and times burnt into video
        return []
    raw_digit = any(ch.isdigit() for ch in raw)
    longest = max(len(t) for code in countries for t in FORMATS[code].templates)
    if len(raw) < 2 or len(raw) > longest + MAX_EXTRA:  # a sticker's letter or a line of text: no plate
        return []
    blank = np.log(probs[:, -1])
    # the best unconstrained path: a template's path is judged by how much less probable it is
    unconstrained = float(np.log(probs.max(axis=1)).sum())
    groups: dict[int, list[tuple[int, str, str]]] = {}
    for rank, code in enumerate(countries):
        for template in FORMATS[code].templates:
            groups.setdefault(len(template), []).append((rank, code, template))
    out: list[Decoded] = []
    lattices: list[tuple[list[tuple[int, str, str]], _Lattice]] = []
    with np.errstate(divide="ignore"):
        logs = {
            code: {cls: np.log(np.maximum(e, 1e-12)) for cls, e in _class_emissions(
                probs, FORMATS[code].never, confusion).items()}
            for code in countries
        }  # fmt: skip
        for length, members in groups.items():
            if length > probs.shape[0]:
                continue
            emit = np.stack(
                [np.stack([logs[code][cls] for cls in template], axis=1) for _, code, template in members],
                axis=1,
            )  # (T, n, L, 36)
            lattices.append((members, _viterbi(emit, blank)))
        # only the best template of each country, national or any-character, can win: trace those
        best: dict[tuple[str, bool], tuple[float, list[tuple[int, str, str]], _Lattice, int]] = {}
        for members, lat in lattices:
            for j, (_, code, template) in enumerate(members):
                key = (code, any(cls != "X" for cls in template))
                if key not in best or lat.scores[j] > best[key][0]:
                    best[key] = (float(lat.scores[j]), members, lat, j)
        for (code, specific), (score, members, lat, j) in best.items():
            rank, _, template = members[j]
            length = len(template)
            cs, pk = _trace(lat, j)
            plate = "".join(ALPHABET[i] for i in cs)
            fmt = FORMATS[code]
            if score <= NEG / 2 or TIMESTAMP.match(plate):
                continue
            # words are no plate: a digit read, or a national template's digit (not only a
            # never-issued letter, like the O of NORTHERN, taken for its digit)
            has_digit = any(ch.isdigit() for ch in plate) and (raw_digit or specific)
            if fmt.require_digit and not has_digit:
                continue
            prior = 0.0 if specific else generic_prior
            # per character, how much less probable the path is than the unconstrained best one
            # (a skipped character or a forced look-alike costs here), times the mean peak
            ratio = min(1.0, float(np.exp((score - unconstrained) / length)))
            out.append(
                Decoded(plate, code, template, float(score) + prior - 1e-6 * rank,
                        float(np.exp(pk).mean()) * ratio, specific)
            )  # fmt: skip
    # on a tie (the same text fits a national template and "any characters") the national one first
    return sorted(out, key=lambda d: (d.score, d.specific), reverse=True)


def greedy(probs: np.ndarray) -> tuple[str, float]:
    """Greedy CTC decoding of `probs` ((T, 37)): the best symbol per step, repeats merged, blanks and
    non-plate symbols dropped; with the mean probability of the kept characters (rapidocr's score)."""
    best = probs.argmax(axis=1)
    chars: list[str] = []
    scores: list[float] = []
    previous = -1
    for t, i in enumerate(best):
        if i != previous and i < len(ALPHABET):
            chars.append(ALPHABET[i])
            scores.append(float(probs[t, i]))
        previous = int(i)
    return "".join(chars), (sum(scores) / len(scores) if scores else 0.0)
