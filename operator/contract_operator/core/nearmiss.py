"""Near-miss search: the known topic names a subscription was probably meant to be, by bug shape.

`NearMissIndex` is built once over the known names and answers each lookup from the keys a bug
shape shares, instead of comparing the subscription with every name:

- SEPARATOR: the name with '-'/'_' and case folded;
- VERSION, PLURAL, RENAMED_SEGMENT: the name with one segment blanked, one key per position;
  inside that bucket the names are keyed by the differing segment, so a plural or singular
  spelling is looked up directly and only RENAMED_SEGMENT walks the bucket;
- SIMILAR: a bit-parallel longest-common-subsequence pass (rapidfuzz) bounds difflib's ratio
  from above, so difflib runs only on the few names that can still reach the cut-off.

The result is the pairwise search's, exactly: most specific shape first, then difflib's ratio,
then the name. The index only skips work that cannot change the first MAX_SUGGESTIONS.
"""

from __future__ import annotations

import bisect
import difflib
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

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


def normal(name: str) -> str:
    """The spelling two names share when they differ only in '-' vs '_' or case."""
    return name.lower().replace("_", "-")


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


def _blanked(segments: list[str], position: int) -> str:
    """The key of every name equal to `segments` except, perhaps, at `position`. The position
    prefix (digits, then the first '.') keeps keys of different positions apart."""
    saved, segments[position] = segments[position], ""
    key = f"{position}.{'.'.join(segments)}"
    segments[position] = saved
    return key


class NearMissIndex:
    """The known names, indexed by the keys each bug shape shares.

    `names` are preferred over `others` when both match a subscription with the same shape
    (e.g. published topics over topics only found on the broker); a name in both is preferred.
    The keys are built on the first lookup, so an index nobody asks costs nothing.
    """

    def __init__(self, names: Iterable[str], others: Iterable[str] = ()) -> None:
        self._tier = dict.fromkeys(others, 1)
        self._tier.update(dict.fromkeys(names, 0))

    def __contains__(self, name: str) -> bool:
        return name in self._tier

    @cached_property
    def _normals(self) -> dict[str, str]:
        return {name: normal(name) for name in self._tier}

    @cached_property
    def _by_normal(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name, folded in self._normals.items():
            out.setdefault(folded, []).append(name)
        return out

    @cached_property
    def _by_blanked(self) -> dict[str, dict[str, list[str]]]:
        """Blanked-segment key -> the segment found there -> names."""
        out: dict[str, dict[str, list[str]]] = {}
        for name, folded in self._normals.items():
            segments = folded.split(".")
            for position, segment in enumerate(segments):
                bucket = out.setdefault(_blanked(segments, position), {})
                bucket.setdefault(segment, []).append(name)
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

    def near_misses(self, topic: str) -> tuple[NearMiss, ...]:
        """The names `topic` was probably meant to be, the most specific shape first."""
        folded = normal(topic)
        segments = folded.split(".")
        exact = [n for n in self._by_normal.get(folded, ()) if n != topic]
        one_segment: dict[Shape, list[str]] = {
            Shape.PLURAL: [],
            Shape.VERSION: [],
            Shape.RENAMED_SEGMENT: [],
        }
        # Names equal but for one segment, by position; kept for RENAMED_SEGMENT and to tell
        # SIMILAR apart, which needs every name the specific shapes claim.
        buckets: list[tuple[str, dict[str, list[str]]]] = []
        for position, segment in enumerate(segments):
            bucket = self._by_blanked.get(_blanked(segments, position))
            if not bucket or bucket.keys() == {segment}:  # only the topic's own spellings
                continue
            buckets.append((segment, bucket))
            if _VERSION.match(segment):
                for other, names in bucket.items():
                    if other != segment and _VERSION.match(other):
                        one_segment[Shape.VERSION].extend(names)
            for other in _plural_partners(segment) & bucket.keys():
                if segment_shape(segment, other) is Shape.PLURAL:
                    one_segment[Shape.PLURAL].extend(bucket[other])

        # Each shape is asked only while suggestions are missing; the later ones cost more.
        found: list[NearMiss] = []
        for shape in Shape:
            wanted = MAX_SUGGESTIONS - len(found)
            if not wanted:
                break
            accept = None
            if shape is Shape.SEPARATOR:
                members = exact
            elif shape is Shape.RENAMED_SEGMENT:
                members = self._renamed(buckets)
            elif shape is Shape.SIMILAR:
                members, accept = self._similar(topic, folded, buckets, exact)
            else:
                members = one_segment[shape]
            found.extend(NearMiss(n, shape) for n in self._best(topic, members, wanted, accept))
        return tuple(found)

    @staticmethod
    def _renamed(buckets: list[tuple[str, dict[str, list[str]]]]) -> list[str]:
        out = []
        for segment, bucket in buckets:
            for other, names in bucket.items():
                if other != segment and segment_shape(segment, other) is Shape.RENAMED_SEGMENT:
                    out.extend(names)
        return out

    def _similar(
        self,
        topic: str,
        folded: str,
        buckets: list[tuple[str, dict[str, list[str]]]],
        exact: list[str],
    ) -> tuple[list[str], Callable[[str], bool]]:
        """Names that may be within the SIMILAR cut-off and that no specific shape claims, and the
        exact test of the cut-off. rapidfuzz bounds the ratio of every name in native code;
        difflib confirms a name only when the ranking reaches it."""
        claimed = {topic, *exact}
        for segment, bucket in buckets:
            for other, members in bucket.items():
                if other != segment:
                    claimed.update(members)
        pool = []
        for length, (names, normals) in self._by_length.items():
            # ratio >= cut-off needs an Indel distance <= (1 - cut-off) * total length; one more
            # keeps rounding on the safe side (the exact bound is checked below). Integer
            # cut-offs keep rapidfuzz's own float rounding out of it.
            most = int((1 - SIMILAR_CUTOFF) * (len(folded) + length)) + 1
            if abs(len(folded) - length) > most:
                continue
            for _, _, index in process.extract(
                folded, normals, scorer=Indel.distance, score_cutoff=most, limit=None
            ):
                if (
                    names[index] not in claimed
                    and ratio_bound(folded, normals[index]) >= SIMILAR_CUTOFF
                ):
                    pool.append(names[index])

        def close(name: str) -> bool:
            return ratio(folded, self._normals[name]) >= SIMILAR_CUTOFF

        return pool, close

    def _best(
        self,
        topic: str,
        names: list[str],
        wanted: int,
        accept: Callable[[str], bool] | None = None,
    ) -> list[str]:
        """The `wanted` best of `names` (those `accept` takes) for `topic`: preferred names
        first, then by ratio, then by name."""
        ranked: list[str] = []
        for tier in (0, 1):
            members = [n for n in names if self._tier[n] == tier]
            ranked += _top(topic, members, wanted - len(ranked), accept)
            if len(ranked) == wanted:
                break
        return ranked


def _top(
    topic: str, names: list[str], wanted: int, accept: Callable[[str], bool] | None = None
) -> list[str]:
    """The `wanted` names with the highest ratio to `topic` (ties by name). Names are visited by
    their upper bound, best first, and the visit stops when no remaining bound can enter the
    top: difflib runs on a handful of names, however many share the shape."""
    if wanted <= 0 or not names:
        return []
    if len(names) <= wanted and accept is None:
        visit = [(-math.inf, n) for n in names]  # every name is in: no bound needed
    else:
        visit = sorted((-ratio_bound(topic, n), n) for n in names)
    best: list[tuple[float, str]] = []
    for bound, name in visit:
        if len(best) == wanted and (bound, name) > best[-1]:
            break
        if accept is None or accept(name):
            bisect.insort(best, (-ratio(topic, name), name))
            del best[wanted:]
    return [name for _, name in best]
