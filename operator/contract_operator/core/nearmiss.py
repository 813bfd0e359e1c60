"""Near-miss search: the known topic names a subscription was probably meant to be, by bug shape.

`NearMissIndex` is built once over the known names and answers each lookup from the keys a bug
shape shares, instead of comparing the subscription with every name:

- SEPARATOR: the name with '-'/'_' and case folded (the normal form), looked up as is;
- PLURAL: the normal form with one word swapped for each of its singular or plural spellings,
  looked up the same way;
- VERSION, RENAMED_SEGMENT: the normal form with one segment cut out, one key per position;
  the bucket holds exactly the names that differ in that segment alone;
- SIMILAR: asked only when the shapes above leave room. A bit-parallel longest-common-
  subsequence pass (rapidfuzz, native code) bounds difflib's ratio from above for the names of a
  plausible length, and difflib runs only on the names that bound lets into the top.

The result is the pairwise search's, exactly: most specific shape first, then difflib's ratio,
then the name. The index only skips work that cannot change the first MAX_SUGGESTIONS.
"""

from __future__ import annotations

import bisect
import difflib
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any, NamedTuple

from rapidfuzz import process
from rapidfuzz.distance import Indel

MAX_SUGGESTIONS = 3
SIMILAR_CUTOFF = 0.8


class Shape(StrEnum):
    """How a subscribed name misses a published one, most specific first."""

    SEPARATOR = "separator"  # routing_complete vs routing-complete (or case)
    PLURAL = "plural"  # routes vs route
    VERSION = "version"  # .v1 vs .v2
    RENAMED_SEGMENT = "renamed-segment"  # all segments equal but one
    SIMILAR = "similar"  # difflib says so

    @property
    def hint(self) -> str:
        return _HINTS[self]


_HINTS = {
    Shape.SEPARATOR: "differs only in '-' vs '_' or case",
    Shape.PLURAL: "differs only in singular vs plural",
    Shape.VERSION: "is another version of the same event",
    Shape.RENAMED_SEGMENT: "differs in one segment",
    Shape.SIMILAR: "is spelled similarly",
}
_VERSION = re.compile(r"^v[0-9]+$")
_WORD_SEPARATOR = re.compile(r"[-_]")


@dataclass(frozen=True)
class NearMiss:
    name: str
    shape: Shape


class Differing(NamedTuple):
    """A name one segment away from a subscription's, and the two segments."""

    name: str
    ours: str
    theirs: str


def normal(name: str) -> str:
    """The spelling two names share when they differ only in '-' vs '_' or case."""
    return name.lower().replace("_", "-")


def near_keys(name: str) -> list[tuple[object, ...]]:
    """Keys two names share when one may be a near miss of the other, for an index kept up to
    date one name at a time (the admission webhook's fleet view): the normal form; the normal
    form with one segment cut out, one key per position (a version, a plural, a renamed event
    or producer); and the producer segment, under which similar spellings are looked for."""
    parts = normal(name).split(".")
    keys: list[tuple[object, ...]] = [("same", *parts)]
    keys += [("but", i, *parts[:i], *parts[i + 1 :]) for i in range(len(parts))]
    keys += [("producer", parts[2])] if len(parts) > 2 else []
    return keys


def _singulars(word: str) -> set[str]:
    """Every singular `word` could be the plural of (routes, statuses, policies), and itself."""
    out = {word}
    if word.endswith("ies"):
        out.add(word[:-3] + "y")
    if word.endswith("es"):
        out.add(word[:-2])
    if word.endswith("s"):
        out.add(word[:-1])
    return out


def _plurals(word: str) -> set[str]:
    """Every word whose _singulars() meet those of `word`: the inverse of _singulars()."""
    out: set[str] = set()
    for stem in _singulars(word):
        out.update((stem, stem + "s", stem + "es"))
        if stem.endswith("y"):
            out.add(stem[:-1] + "ies")
    return out


def is_plural_pair(a: str, b: str) -> bool:
    """Two segments that differ in one word only, singular vs plural."""
    words_a, words_b = _WORD_SEPARATOR.split(a), _WORD_SEPARATOR.split(b)
    if len(words_a) != len(words_b):
        return False
    differing = [(x, y) for x, y in zip(words_a, words_b, strict=True) if x != y]
    if len(differing) != 1:
        return False
    x, y = differing[0]
    return bool(_singulars(x) & _singulars(y))


def _plural_partners(segment: str) -> set[str]:
    """Every segment that forms a plural pair with `segment` (same words but one)."""
    words = _WORD_SEPARATOR.split(segment)
    out: set[str] = set()
    for position, word in enumerate(words):
        for other in _plurals(word) - {word}:
            out.add("-".join([*words[:position], other, *words[position + 1 :]]))
    return out


def segment_shape(a: str, b: str) -> Shape:
    """The shape of two normalised names whose only difference is segment `a` vs `b`."""
    if _VERSION.match(a) and _VERSION.match(b):
        return Shape.VERSION
    if is_plural_pair(a, b):
        return Shape.PLURAL
    return Shape.RENAMED_SEGMENT


def ratio(a: str, b: str) -> float:
    """difflib's similarity ratio, the one the ranking is defined by."""
    return difflib.SequenceMatcher(None, a, b).ratio()


def ratio_bound(a: str, b: str) -> float:
    """An upper bound of ratio(a, b), computed fast: difflib's matching blocks form a common
    subsequence, so they never match more characters than the longest one. Written as difflib
    writes its ratio, so equal match counts give equal floats."""
    length = len(a) + len(b)
    if not length:
        return 1.0
    common = (length - Indel.distance(a, b)) // 2
    return 2.0 * common / length


def shape_of(topic: str, candidate: str) -> Shape | None:
    """The bug shape that turns `candidate` into `topic`, or None when they are unrelated."""
    if topic == candidate:
        return None
    a, b = normal(topic), normal(candidate)
    if a == b:
        return Shape.SEPARATOR
    segments_a, segments_b = a.split("."), b.split(".")
    if len(segments_a) == len(segments_b):
        differing = [(x, y) for x, y in zip(segments_a, segments_b, strict=True) if x != y]
        if len(differing) == 1:
            return segment_shape(*differing[0])
    if ratio(a, b) >= SIMILAR_CUTOFF:
        return Shape.SIMILAR
    return None


# Most keys hold a single name: it is stored as such, since as many one-name lists would double
# the index's memory.
Held = str | list[str]


def _hold(index: dict[Any, Held], key: Any, name: str) -> None:
    held = index.setdefault(key, name)
    if isinstance(held, list):
        held.append(name)
    elif held is not name:
        index[key] = [held, name]


def _held(held: Held | None) -> Sequence[str]:
    if held is None:
        return ()
    return (held,) if isinstance(held, str) else held


def _spans(folded: str) -> list[tuple[int, int]]:
    """Where each '.'-separated segment of `folded` starts and ends."""
    spans = []
    start = 0
    for segment in folded.split("."):
        spans.append((start, start + len(segment)))
        start += len(segment) + 1
    return spans


class NearMissIndex:
    """The known names, indexed by the keys each bug shape shares.

    `names` are preferred over `others` when both match a subscription with the same shape
    (e.g. published topics over topics only found on the broker); a name in both is preferred.
    The keys are built on the first lookup, so an index nobody asks costs nothing.
    """

    def __init__(self, names: Iterable[str], others: Iterable[str] = ()) -> None:
        self._tier = dict.fromkeys(others, 1)
        self._tier.update(dict.fromkeys(names, 0))

    @cached_property
    def _normals(self) -> dict[str, str]:
        # A name already in normal form maps to itself, not to an equal copy.
        return {name: folded if (folded := normal(name)) != name else name for name in self._tier}

    @cached_property
    def _by_normal(self) -> dict[str, Held]:
        out: dict[str, Held] = {}
        for name, folded in self._normals.items():
            _hold(out, folded, name)
        return out

    @cached_property
    def _by_blanked(self) -> list[dict[int, Held]]:
        """Per segment position: the normal form with that segment cut out -> the names. Only
        the cut's hash is kept (a hundred thousand names would otherwise hold half a million
        key strings); a lookup checks that its names really share the rest."""
        out: list[dict[int, Held]] = []
        for name, folded in self._normals.items():
            start = 0
            for position, segment in enumerate(folded.split(".")):
                end = start + len(segment)
                if position == len(out):
                    out.append({})
                _hold(out[position], hash(folded[:start] + folded[end:]), name)
                start = end + 1
        return out

    @cached_property
    def _by_length(self) -> dict[int, tuple[list[str], list[str]]]:
        """Length of the normal form -> names and their normal forms, side by side: the SIMILAR
        pass asks each length for an edit distance of its own."""
        out: dict[int, tuple[list[str], list[str]]] = {}
        for name, folded in self._normals.items():
            names, normals = out.setdefault(len(folded), ([], []))
            names.append(name)
            normals.append(folded)
        return out

    def _differing_at(self, folded: str, span: tuple[int, int], position: int) -> list[Differing]:
        """Names whose normal form equals `folded` except in the segment at `position`."""
        if position >= len(self._by_blanked):
            return []
        start, end = span
        prefix, suffix = folded[:start], folded[end:]
        held = self._by_blanked[position].get(hash(prefix + suffix))
        own = folded[start:end]
        out = []
        for name in _held(held):
            other = self._normals[name]
            segment = other[start : len(other) - len(suffix)]
            if (
                segment != own
                and "." not in segment
                and len(other) >= len(folded) - len(own)
                and other.startswith(prefix)
                and other.endswith(suffix)
            ):
                out.append(Differing(name, own, segment))
        return out

    def near_misses(self, topic: str) -> tuple[NearMiss, ...]:
        """The names `topic` was probably meant to be, the most specific shape first."""
        folded = normal(topic)
        spans = _spans(folded)
        segments = [folded[start:end] for start, end in spans]
        by_normal = self._by_normal

        def separator() -> list[str]:
            return [n for n in _held(by_normal.get(folded)) if n != topic]

        def plural() -> list[str]:
            # Looked up, not searched: every singular or plural spelling of every word.
            out: list[str] = []
            for (start, end), segment in zip(spans, segments, strict=True):
                for other in _plural_partners(segment):
                    if segment_shape(segment, other) is Shape.PLURAL:
                        out += _held(by_normal.get(folded[:start] + other + folded[end:]))
            return out

        differing: dict[int, list[Differing]] = {}

        def at(position: int) -> list[Differing]:
            if position not in differing:
                differing[position] = self._differing_at(folded, spans[position], position)
            return differing[position]

        def version() -> list[str]:
            positions = [p for p, segment in enumerate(segments) if _VERSION.match(segment)]
            return [d.name for p in positions for d in at(p) if _VERSION.match(d.theirs)]

        def renamed() -> list[str]:
            return [
                d.name
                for p in range(len(segments))
                for d in at(p)
                if segment_shape(d.ours, d.theirs) is Shape.RENAMED_SEGMENT
            ]

        # Each shape is asked only while suggestions are missing; the later ones cost more.
        found: list[NearMiss] = []
        for shape, members in (
            (Shape.SEPARATOR, separator),
            (Shape.PLURAL, plural),
            (Shape.VERSION, version),
            (Shape.RENAMED_SEGMENT, renamed),
        ):
            wanted = MAX_SUGGESTIONS - len(found)
            if not wanted:
                return tuple(found)
            found += (NearMiss(n, shape) for n in self._best(topic, members(), wanted))
        wanted = MAX_SUGGESTIONS - len(found)
        if wanted:
            # Every name a specific shape claims: the normal form's, and one segment away.
            claimed = {topic, *_held(by_normal.get(folded))}
            claimed.update(d.name for p in range(len(segments)) for d in at(p))
            found += (
                NearMiss(n, Shape.SIMILAR) for n in self._similar(topic, folded, claimed, wanted)
            )
        return tuple(found)

    def _similar(self, topic: str, folded: str, claimed: set[str], wanted: int) -> list[str]:
        """The best names within the SIMILAR cut-off that no specific shape claims. rapidfuzz
        bounds the ratio of every name of a plausible length in native code; difflib confirms a
        name only when the ranking reaches it."""
        bounds: dict[str, float] = {}  # of the normal forms' ratio
        for length, (names, normals) in self._by_length.items():
            total = len(folded) + length
            # ratio >= cut-off needs an Indel distance <= (1 - cut-off) * total; one more keeps
            # rounding on the safe side (the exact bound is checked below). An integer cut-off
            # keeps rapidfuzz's own float rounding out of it.
            most = int((1 - SIMILAR_CUTOFF) * total) + 1
            if abs(len(folded) - length) > most:
                continue
            for _, distance, index in process.extract(
                folded, normals, scorer=Indel.distance, score_cutoff=most, limit=None
            ):
                bound = 2.0 * ((total - distance) // 2) / total if total else 1.0
                if bound >= SIMILAR_CUTOFF and names[index] not in claimed:
                    bounds[names[index]] = bound
        ratios: dict[str, float] = {}  # of the normal forms, computed once

        def normal_ratio(name: str) -> float:
            if name not in ratios:
                ratios[name] = ratio(folded, self._normals[name])
            return ratios[name]

        def same(name: str) -> bool:  # both spelled in normal form: raw and normal ratios agree
            return topic == folded and name == self._normals[name]

        return self._best(
            topic,
            list(bounds),
            wanted,
            accept=lambda name: normal_ratio(name) >= SIMILAR_CUTOFF,
            bound=lambda name: bounds[name] if same(name) else ratio_bound(topic, name),
            exact=lambda name: normal_ratio(name) if same(name) else ratio(topic, name),
        )

    def _best(
        self,
        topic: str,
        names: list[str],
        wanted: int,
        accept: Callable[[str], bool] | None = None,
        bound: Callable[[str], float] | None = None,
        exact: Callable[[str], float] | None = None,
    ) -> list[str]:
        """The `wanted` best of `names` (those `accept` takes) for `topic`: preferred names
        first, then by difflib's ratio (`exact`, bounded above by `bound`), then by name."""
        bound = bound or (lambda name: ratio_bound(topic, name))
        exact = exact or (lambda name: ratio(topic, name))
        ranked: list[str] = []
        for tier in (0, 1):
            members = [n for n in names if self._tier[n] == tier]
            ranked += _top(members, wanted - len(ranked), bound, exact, accept)
            if len(ranked) == wanted:
                break
        return ranked


def _top(
    names: list[str],
    wanted: int,
    bound: Callable[[str], float],
    exact: Callable[[str], float],
    accept: Callable[[str], bool] | None = None,
) -> list[str]:
    """The `wanted` names of highest `exact` score (ties by name). Names are visited by their
    upper `bound`, best first, and the visit stops when no remaining bound can enter the top:
    difflib runs on a handful of names, however many share the shape."""
    if wanted <= 0 or not names:
        return []
    if len(names) <= wanted and accept is None:
        visit = [(-math.inf, n) for n in names]  # every name is in: no bound needed
    else:
        visit = sorted((-bound(n), n) for n in names)
    best: list[tuple[float, str]] = []
    for negated, name in visit:
        if len(best) == wanted and (negated, name) > best[-1]:
            break
        if accept is None or accept(name):
            bisect.insort(best, (-exact(name), name))
            del best[wanted:]
    return [name for _, name in best]
