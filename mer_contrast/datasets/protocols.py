"""Class protocols: which emotions of a database become which classes, as data.

A :class:`ClassProtocol` maps each emotion as written in the sheet (compared case-insensitively) to a
class name; emotions outside the mapping are dropped by :func:`apply_protocol` with a reason. Class
indices follow the order of ``classes``. Each protocol's description names its source (see
``notes/datasets.md``). Users can build their own with :func:`custom_protocol`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from mer_contrast.datasets.records import ReadResult, SampleRecord, SkippedRow

__all__ = [
    "DEFAULT_PROTOCOL",
    "PROTOCOLS",
    "ClassProtocol",
    "apply_protocol",
    "custom_protocol",
    "get_protocol",
    "list_protocols",
]


@dataclass(frozen=True)
class ClassProtocol:
    """A named emotion -> class mapping for one dataset.

    Attributes:
        name: protocol id, e.g. ``casme2-5class``.
        dataset: reader name the protocol is meant for (``custom`` for user protocols).
        classes: class names in label order (label ``i`` is ``classes[i]``).
        mapping: emotion as written (any case) -> class name.
        description: what the protocol is and where it comes from.
    """

    name: str
    dataset: str
    classes: tuple[str, ...]
    mapping: dict[str, str] = field(hash=False)
    description: str = ""

    def __post_init__(self) -> None:
        if len(set(self.classes)) != len(self.classes) or not self.classes:
            raise ValueError(f"protocol {self.name!r}: classes must be unique and non-empty: {self.classes}")
        normalised = {str(key).strip().lower(): value for key, value in self.mapping.items()}
        unknown = sorted({value for value in normalised.values() if value not in self.classes})
        if unknown:
            raise ValueError(
                f"protocol {self.name!r}: mapping targets {unknown} are not among classes {self.classes}"
            )
        object.__setattr__(self, "classes", tuple(self.classes))
        object.__setattr__(self, "mapping", normalised)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def class_of(self, emotion: str) -> str | None:
        """Class name of ``emotion``, None when the protocol drops it."""
        return self.mapping.get(emotion.strip().lower())

    def label_of(self, emotion: str) -> int | None:
        """Class index of ``emotion``, None when the protocol drops it."""
        name = self.class_of(emotion)
        return None if name is None else self.classes.index(name)


def _identity(*names: str) -> dict[str, str]:
    return {name: name for name in names}


_CASME3_NEGATIVE = ("disgust", "fear", "anger", "sad", "negative")

PROTOCOLS: dict[str, ClassProtocol] = {
    protocol.name: protocol
    for protocol in (
        ClassProtocol(
            "casme2-5class",
            "casme2",
            ("happiness", "disgust", "repression", "surprise", "others"),
            _identity("happiness", "disgust", "repression", "surprise", "others"),
            "Standard CASME II 5-class protocol (the database's own 5 classes; Yan et al. 2014): fear and "
            "sadness dropped. 246 samples from the 20140508 sheet (others 99, disgust 63, happiness 32, "
            "repression 27, surprise 25). Used by MEB (tvaranka/meb) and most MER papers.",
        ),
        ClassProtocol(
            "casme2-7class",
            "casme2",
            ("happiness", "disgust", "repression", "surprise", "others", "sadness", "fear"),
            _identity("happiness", "disgust", "repression", "surprise", "others", "sadness", "fear"),
            "All 7 CASME II emotion labels as written in the sheet (bob.db.casme2 emotion_choices); "
            "sadness and fear have only 7 and 2 samples in the 20140508 sheet.",
        ),
        ClassProtocol(
            "casme2-3class",
            "casme2",
            ("negative", "positive", "surprise"),
            {
                "disgust": "negative",
                "repression": "negative",
                "happiness": "positive",
                "surprise": "surprise",
            },
            "MEGC2019 3-class grouping applied to the CASME II sheet (MEGC2019 guideline: negative = disgust "
            "+ repression for CASME II). Gives 147 samples; the official MEGC2019 list has 145 (use "
            "megc2019-3class for the exact challenge set).",
        ),
        ClassProtocol(
            "samm-5class",
            "samm",
            ("anger", "contempt", "happiness", "surprise", "other"),
            _identity("anger", "contempt", "happiness", "surprise", "other"),
            "SAMM 5-class protocol used in the literature (QqXuyujie/Micro-Expression-Datasets README): "
            "anger 57, contempt 12, happiness 26, surprise 15, other 26 = 136 of 159; disgust, fear and "
            "sadness dropped.",
        ),
        ClassProtocol(
            "samm-3class",
            "samm",
            ("negative", "positive", "surprise"),
            {
                **dict.fromkeys(("anger", "contempt", "disgust", "fear", "sadness"), "negative"),
                "happiness": "positive",
                "surprise": "surprise",
            },
            "MEGC2019 3-class grouping applied to the SAMM sheet (MEGC2019 guideline: negative = anger, "
            "contempt, disgust, fear, sadness); 133 samples, 'other' dropped.",
        ),
        ClassProtocol(
            "mmew",
            "mmew",
            ("happiness", "surprise", "disgust", "others", "fear", "sadness", "anger"),
            _identity("happiness", "surprise", "disgust", "others", "fear", "sadness", "anger"),
            "All 7 MMEW micro-expression labels, in the order of the emotion index of MMEW clip names "
            "(01 happiness .. 07 anger; Ben et al., TPAMI 2021): 300 samples.",
        ),
        ClassProtocol(
            "mmew-4class",
            "mmew",
            ("happiness", "surprise", "disgust", "others"),
            _identity("happiness", "surprise", "disgust", "others"),
            "MMEW 4-class protocol seen in public configs (['happiness', 'surprise', 'disgust', 'others']); "
            "fear, sadness and anger dropped: 263 samples.",
        ),
        ClassProtocol(
            "casme3-3class",
            "casme3",
            ("negative", "positive", "surprise"),
            {
                **dict.fromkeys(_CASME3_NEGATIVE, "negative"),
                "happy": "positive",
                "positive": "positive",
                "surprise": "surprise",
            },
            "CAS(ME)^3 3-class protocol (Li et al., TPAMI 2022): negative = disgust, fear, anger, sad; "
            "positive = happy; surprise; others dropped. Part C's own negative/positive labels map as is.",
        ),
        ClassProtocol(
            "casme3-4class",
            "casme3",
            ("negative", "positive", "surprise", "others"),
            {
                **dict.fromkeys(_CASME3_NEGATIVE, "negative"),
                "happy": "positive",
                "positive": "positive",
                "surprise": "surprise",
                "others": "others",
            },
            "CAS(ME)^3 4-class protocol (Li et al., TPAMI 2022): the 3-class grouping plus others.",
        ),
        ClassProtocol(
            "casme3-7class",
            "casme3",
            ("disgust", "surprise", "others", "fear", "anger", "sad", "happy"),
            _identity("disgust", "surprise", "others", "fear", "anger", "sad", "happy"),
            "CAS(ME)^3 7-class protocol (Li et al., TPAMI 2022): every Part A emotion label (860 samples).",
        ),
        ClassProtocol(
            "megc2019-3class",
            "megc2019",
            ("negative", "positive", "surprise"),
            _identity("negative", "positive", "surprise"),
            "MEGC2019 composite (CDE) protocol, official ground truth combined_3class_gt.csv "
            "(Facial-Micro-ExpressionGC/MEGC2019): classes 0 negative, 1 positive, 2 surprise; 442 samples "
            "from SMIC, CASME II and SAMM, 68 subjects.",
        ),
        ClassProtocol(
            "smic-3class",
            "smic",
            ("negative", "positive", "surprise"),
            _identity("negative", "positive", "surprise"),
            "SMIC-HS's own 3 classes, its emotion folders (Li et al., FG 2013): 164 samples of 16 subjects, "
            "negative 70, positive 51, surprise 43 (the SMIC column of the MEGC2019 guideline table).",
        ),
    )
}

#: Protocol used when none is named. CAS(ME)^3 defaults to 7 classes so that no Part A row is dropped.
DEFAULT_PROTOCOL: dict[str, str] = {
    "casme2": "casme2-5class",
    "mmew": "mmew",
    "samm": "samm-5class",
    "casme3": "casme3-7class",
    "megc2019": "megc2019-3class",
    "smic": "smic-3class",
}


def list_protocols(dataset: str | None = None) -> list[str]:
    """Names of the built-in protocols, optionally only those for ``dataset``."""
    return [name for name, protocol in PROTOCOLS.items() if dataset is None or protocol.dataset == dataset]


def get_protocol(name: str | ClassProtocol) -> ClassProtocol:
    """The built-in protocol called ``name`` (a :class:`ClassProtocol` is returned as is)."""
    if isinstance(name, ClassProtocol):
        return name
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ValueError(f"unknown class protocol {name!r}; known: {', '.join(PROTOCOLS)}") from None


def custom_protocol(
    name: str,
    mapping: Mapping[str, str] | Sequence[str],
    classes: Sequence[str] | None = None,
    dataset: str = "custom",
    description: str = "",
) -> ClassProtocol:
    """Build a protocol from a user mapping (e.g. an MMEW subset).

    ``mapping`` is ``{emotion: class}`` or a list of emotions kept as their own classes; ``classes``
    defaults to the mapping's classes in first-seen order.
    """
    table = dict(mapping) if isinstance(mapping, Mapping) else {emotion: emotion for emotion in mapping}
    table = {str(key).strip().lower(): str(value).strip().lower() for key, value in table.items()}
    order = tuple(classes) if classes is not None else tuple(dict.fromkeys(table.values()))
    return ClassProtocol(name, dataset, order, table, description or f"user protocol {name}")


def apply_protocol(
    result: ReadResult | Iterable[SampleRecord], protocol: str | ClassProtocol
) -> tuple[list[tuple[SampleRecord, int]], list[SkippedRow]]:
    """Labelled records under ``protocol`` and the records it drops (with the reason)."""
    chosen = get_protocol(protocol)
    records = result.records if isinstance(result, ReadResult) else list(result)
    kept: list[tuple[SampleRecord, int]] = []
    dropped: list[SkippedRow] = []
    for record in records:
        label = chosen.label_of(record.emotion)
        if label is None:
            reason = f"emotion {record.emotion!r} not in protocol {chosen.name}"
            dropped.append(SkippedRow(row=record.row, reason=reason, clip=record.key))
        else:
            kept.append((record, label))
    return kept, dropped
