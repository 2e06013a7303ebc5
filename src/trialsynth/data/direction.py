"""Which arm a quoted source says did better, and whether a row's numbers agree with it.

The number check of :mod:`trialsynth.data.provenance` matches cells by absolute value (a sign is
a data-entry convention), so on its own it cannot see the most common extraction slip: a
difference entered with the wrong sign.  This module reads the direction that the row's quotes
state and compares it with the direction of the entered numbers.  Two kinds of evidence are read:

**Words** (:func:`stated_directions`).  A clause states a direction when it compares the two arms
of the row with a directional predicate:

* "favoured acupuncture", "in favour of the acupuncture group", "acupuncture was superior to
  sham", "more effective than", "inferior to", "worse than";
* a comparative change: "improved more in the acupuncture group", "greater decrease with
  acupuncture", "pain was significantly lower in the acupuncture group compared with usual care",
  "the control group improved less than the acupuncture group"; a quantity word (lower, decrease,
  higher, increase) is read on the orientation of the quantity the clause names first (pain, VAS,
  disability, ODI ... lower is better; function, HFAQ, SF-36, proportion of responders ...
  higher is better; the row's ``higher_is_better`` when it names none);
* arm-wise magnitudes: "function improved by 12.1 points in the acupuncture group and by 2.7
  among controls", "decreased 30.8 mm in the acupuncture group and 14.9 mm in the sham group".

The arm that is the subject of a comparative is the one not introduced by "than", "compared
with", "versus", "vs", "relative to", "over" or "against"; when only the reference arm is named
("showed significant improvement as compared with the sham group") the subject is the other arm.
Arms are recognised from the row's ``intervention_label``, ``comparator_label`` and
``comparison_id`` and from generic words of the row's comparator class (sham, placebo, waiting
list, usual care, control group, ...), longest phrase first, so "sham acupuncture" is the sham arm.

The reading is deliberately conservative: a clause gives **no** statement (never a guess) when it
is negated ("did not improve more", "was not superior", "no greater decrease"), states equality
("similar", "as effective as", "no difference"), is hedged or methodological ("we hypothesised",
"whether", "will be measured"), speaks of both arms or of a within-group change ("in both groups",
"between groups", "within"), names an arm of another comparison (for a sham row, "usual care"), is
about another outcome than the row's (pain against function), or mixes predicates of opposite
direction.  When a row's quotes still state both directions, only the sentences that print one of
the row's numbers are kept; if they disagree too, nothing is concluded.

**Signed numbers** (:func:`printed_sign_problems`).  When a quote prints the row's contrast with
its confidence interval and at least one of the three carries a sign ("difference −3.8 (95% CI
−12.4 to 4.9)", "-1.0 [95% CI, -1.9 to -0.1]"), the orientation is printed: the entered numbers
must be the printed ones, or their negation when ``derived`` names ``negate`` for them (the
source's difference runs arm 2 minus arm 1).  An all-unsigned print ("9.4 points (95% CI 8.3,
10.5)", "decreased 3.12 (2.26, 3.98) more") is a magnitude whose sign the words give, and is left
to the word reading.

:func:`direction_problems` applies both to one row and returns
:class:`~trialsynth.errors.Problem` objects naming the file, row, column and quote.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from trialsynth.errors import Problem

__all__ = [
    "INTERVENTION",
    "CONTROL",
    "Statement",
    "ArmTerms",
    "arm_terms",
    "stated_directions",
    "mentioned_weeks",
    "entered_direction",
    "printed_sign_problems",
    "direction_problems",
]

INTERVENTION = "intervention"
CONTROL = "control"
_OTHER = {INTERVENTION: CONTROL, CONTROL: INTERVENTION}


@dataclass(frozen=True)
class Statement:
    """One clause of a quote that says which arm did better.

    Attributes
    ----------
    favours : str
        :data:`INTERVENTION` (arm 1) or :data:`CONTROL` (arm 2).
    sentence : str
        The sentence as printed (for messages).
    rule : str
        Which reading found it: ``"favours"``, ``"superiority"``, ``"comparative change"`` or
        ``"arm-wise change"``.
    numbers : frozenset of Decimal
        Unsigned numbers printed in the sentence (to keep, among conflicting statements, those
        about the row's own numbers).
    quote_id : str or None
    weeks : frozenset of float
        The time points the clause (or, when it names none, its sentence) speaks of, in weeks
        ("at 3 months" -> 13.0; "immediately after treatment" -> 0.0); empty when it names none.
    """

    favours: str
    sentence: str
    rule: str
    numbers: frozenset = field(default_factory=frozenset)
    quote_id: str | None = None
    weeks: frozenset = field(default_factory=frozenset)


# ------------------------------------------------------------------------------- arm vocabulary

#: words that name the acupuncture arm whatever the trial (regular expressions on lower-case text)
_GENERIC_INTERVENTION = (
    r"acupuncture", r"electro-?acupuncture", r"verum(?: acupuncture)?", r"real acupuncture",
    r"true acupuncture", r"genuine(?: acupuncture| procedure| treatment)?", r"active acupuncture",
    r"acupuncture (?:groups?|arms?|patients|participants)", r"intervention (?:groups?|arms?)",
    r"treatment (?:groups?|arms?)", r"(?<=among the )treatment", r"(?<=in the )treatment(?= and)",
)
#: words that name the comparator arm whatever its class
_GENERIC_COMPARATOR = (
    r"controls?", r"control (?:groups?|arms?|patients|participants|condition)", r"comparison group",
    r"no acupuncture", r"no-acupuncture",
)
#: generic words of each comparator class; another class's words name another comparison's arm
_CLASS_TERMS: dict[str, tuple[str, ...]] = {
    "sham": (r"sham", r"placebo", r"minimal acupuncture", r"minimal needling", r"superficial needling",
             r"simulated(?: acupuncture)?", r"mock(?: \w+)?", r"non-?penetrating(?: \w+)?",
             r"sham-?acupuncture"),
    "no_treatment": (r"waiting[- ]?lists?", r"wait[- ]?lists?(?:ed)?", r"no[- ]treatment", r"untreated",
                     r"no intervention"),
    "usual_care": (r"usual care", r"routine care", r"standard care", r"usual medical care",
                   r"standard medical care", r"routine medical care", r"conventional care",
                   r"usual treatment", r"standard treatment", r"standard therapy", r"usual physician care"),
    "active": (r"conventional therapy", r"conventional treatment", r"physiotherapy", r"physical therapy",
               r"medications?", r"drugs?", r"injections?", r"massage", r"exercise", r"tens",
               r"nsaids?", r"analgesics?", r"manipulation", r"chiropractic"),
}
#: words of a label that say nothing about which arm it is
_STOP_WORDS = frozenset("""
acupuncture therapy treatment treatments sessions session group groups standard usual care medical
alone only plus with real single manual traditional individualised individualized standardized
standardised points point needles needle chinese medicine weeks week over minutes style
protocol same programme program arms pooled printed stated abstract selected five twelve
""".split())
_COMPARISON_STOP = frozenset({"plus", "and", "with", "vs", "acu", "only", "alone", "the", "or"})


@dataclass(frozen=True)
class ArmTerms:
    """Compiled arm vocabulary of one row: every phrase, its side, longest first."""

    pattern: re.Pattern[str]
    sides: dict[str, str]  # group name -> INTERVENTION / CONTROL / "foreign"


def _label_terms(label: str) -> list[str]:
    """Phrases and acronyms a source may use for an arm labelled ``label`` in data/trials.csv."""
    label = (label or "").strip()
    if not label:
        return []
    out: list[str] = []
    for acronym in re.findall(r"\(([A-Za-z][A-Za-z+ ]{0,14})\)", label):
        acronym = acronym.strip()
        if len(acronym) >= 2:
            out.append(re.escape(acronym.lower()))
    head = re.split(r"[(,]", label, maxsplit=1)[0].strip().lower()
    head = re.sub(r"\s+", " ", head)
    if len(head) >= 3:
        out.append(re.escape(head))
    first = re.split(r"\s+(?:plus|\+|with|and)\s+", head, maxsplit=1)[0].strip()
    if first != head and len(first) >= 3:
        out.append(re.escape(first))
    for word in re.findall(r"[a-z][a-z-]{4,}", head):
        if word not in _STOP_WORDS:
            out.append(re.escape(word))
    return out


def _comparison_tokens(comparison_id: str) -> tuple[list[str], list[str]]:
    left, sep, right = (comparison_id or "").partition("_vs_")
    if not sep:
        return [], []
    left = re.split(r"_(?:plus|with)_", left, maxsplit=1)[0]  # "sa_plus_umc": umc is the add-on, not arm 1
    lt = [t for t in left.split("_") if len(t) >= 2 and t not in _COMPARISON_STOP]
    rt = [t for t in right.split("_") if len(t) >= 2 and t not in _COMPARISON_STOP]
    both = set(lt) & set(rt)
    return [t for t in lt if t not in both], [t for t in rt if t not in both]


def arm_terms(row: Mapping[str, Any], other_labels: Sequence[str] = ()) -> ArmTerms:
    """The arm vocabulary of a row (a mapping with the columns of data/README.md).

    ``other_labels`` are the arm labels of the study's other comparisons (a three-arm trial's
    third arm): a clause that names one of them is about another comparison."""
    klass = str(row.get("comparator_class") or "").strip()
    intervention = list(_GENERIC_INTERVENTION) + _label_terms(str(row.get("intervention_label") or ""))
    comparator = list(_GENERIC_COMPARATOR) + list(_CLASS_TERMS.get(klass, ())) \
        + _label_terms(str(row.get("comparator_label") or ""))
    left, right = _comparison_tokens(str(row.get("comparison_id") or ""))
    intervention += [re.escape(t) for t in left]
    comparator += [re.escape(t) for t in right]
    # a word in both labels names neither arm (e.g. "COT" in "real + COT" and "sham + COT")
    shared = set(intervention) & set(comparator)
    own = set(intervention) | set(comparator)
    foreign = [t for c, terms in _CLASS_TERMS.items() if c != klass for t in terms if t not in own]
    foreign += [t for label in other_labels for t in _label_terms(str(label)) if t not in own]
    entries: list[tuple[str, str]] = []
    for side, terms in ((INTERVENTION, intervention), (CONTROL, comparator), ("foreign", foreign)):
        for t in dict.fromkeys(terms):
            if t not in shared or side == "foreign":
                entries.append((t, side))
    # longest phrase first: re's alternation takes the first alternative that matches
    entries.sort(key=lambda e: -len(e[0].replace("\\", "")))
    sides: dict[str, str] = {}
    parts = []
    for i, (term, side) in enumerate(entries):
        name = f"a{i}"
        sides[name] = side
        parts.append(f"(?P<{name}>{term})")
    pattern = re.compile(r"(?<![\w-])(?:" + "|".join(parts) + r")(?![\w])") if parts else re.compile(r"(?!x)x")
    return ArmTerms(pattern, sides)


# ------------------------------------------------------------------------------ clause reading

_MINUS = "\u2212\u2012\u2013\u2010\u2011-"
_NUMBER = re.compile(r"(?<![\w.])([" + _MINUS + r"]?)(\d+(?:,\d{3})*(?:\.\d+)?|\.\d+)")

_NEGATION = re.compile(r"\b(?:not|no|never|neither|nor|without|cannot|failed|fails|fail|lack|lacked)\b"
                       r"|n't\b|\bnon-?(?:inferior\w*|significant\w*)")
_EQUALITY = re.compile(r"\b(?:similar\w*|comparable|equivalen\w*|equal\w*|same|identical|"
                       r"as (?:\w+ ){1,2}as|differ(?:ed)? little)\b")
_HEDGE = re.compile(r"\b(?:hypothes\w*|expect\w*|whether|would|could|might|may|aim\w*|objective\w*|"
                    r"purpose|designed|if|should|will|protocol|inconsistent|conflicting|insufficient|"
                    r"unclear|uncertain\w*|to (?:compare|evaluate|assess|determine|investigate|test|"
                    r"examine|explore))\b")
_BOTH = re.compile(r"\bboth (?:the )?(?:study |treatment )?(?:groups|arms)\b|"
                   r"\b(?:either|each|all|two|2|three|3|the) (?:study |treatment )?(?:groups|arms)\b|"
                   r"\bbetween\b|\bwithin\b|\bamong (?:the )?groups\b|\ball\b|\beach\b|\bevery\b|"
                   r"\bboth <ARM_[IC]> and <ARM_[IC]>")
_REFERENCE = re.compile(r"(?:\bthan|\bcompared (?:with|to)|\bin comparison (?:with|to)|\bversus|\bvs\.?|"
                        r"\brelative to|\bover|\bagainst|\bsuperior to|\binferior to)\s+"
                        r"(?:(?:the|in|with|among|for|those|that|of|patients|participants|receiving|who|"
                        r"received|group|groups|arm|a|an)\s+){0,4}$")

#: what introduces the reference of a comparison; it must be followed by an arm of the row
_MARKER = re.compile(r"\b(?:than|compared (?:with|to)|in comparison (?:with|to)|versus|vs\.?|relative to|"
                     r"superior to|inferior to)(?=\s)")
_FILLERS = (r"\s+(?:(?:the|in|with|among|for|those|that|of|patients|participants|receiving|who|received|"
            r"group|groups|arm|a|an|both)\s+){0,4}")

_BETTER = re.compile(r"\b(?:superior\w*|more effective|more efficacious|more beneficial|outperform\w*|"
                     r"better than)\b")
_WORSE = re.compile(r"\b(?:inferior\w*|less effective|less efficacious|less beneficial|worse than)\b")
_FAVOURS = (
    re.compile(r"\bin favou?r of (?:the )?<(ARM_[IC])>"),
    re.compile(r"\bfavou?r(?:ed|ing|s)? (?:the )?<(ARM_[IC])>"),
    re.compile(r"<(ARM_[IC])>(?: \w+){0,3} (?:was|were|is|are) (?:\w+ )?favou?red\b"),
)
_ANATOMY = re.compile(r"\b(?:lower|low|upper) (?:back|limbs?|extremit\w*|lumbar|body|legs?)\b")
_WORD = re.compile(r"<ARM_[ICF]>|[a-z][a-z'-]*|\d+(?:\.\d+)?")
_GOOD = re.compile(r"improv\w*|reliev\w*|relief|benefit\w*|better|recover\w*")
_BAD = re.compile(r"wors\w*|deteriorat\w*|aggravat\w*")
_DOWN = re.compile(r"decreas\w*|reduc\w*|declin\w*|lower\w*|drop\w*|fell|fall\w*|diminish\w*")
_UP = re.compile(r"increas\w*|higher|rais\w*|rose|rise\w*|gain\w*")
_MORE = frozenset({"more", "greater", "larger", "bigger", "further"})
_LESS = frozenset({"less", "smaller", "fewer", "lesser"})
_COMPARATIVE = frozenset({"better", "worse", "lower", "higher", "greater", "less", "more", "fewer",
                          "larger", "smaller", "superior", "inferior"})

#: what a quantity's orientation is: +1 higher is better, -1 lower is better (longest first)
_QUANTITIES: tuple[tuple[str, int], ...] = (
    (r"functional disability", -1), (r"sf-?36 bodily pain", +1), (r"bodily pain", +1),
    (r"quality of life", +1), (r"physical component", +1), (r"numerical rating", -1),
    (r"visual analog\w*", -1), (r"medication use", -1), (r"pain intensity", -1),
    (r"function\w*", +1), (r"ability", +1), (r"hfaq", +1), (r"ffbh\w*", +1), (r"hann?over", +1),
    (r"sf-?36", +1), (r"sf-?12", +1), (r"proportion", +1), (r"percentage", +1), (r"respon\w+", +1),
    (r"success\w*", +1), (r"well-being", +1),
    (r"pain", -1), (r"vas", -1), (r"nrs", -1), (r"disability", -1), (r"odi", -1), (r"oswestry", -1),
    (r"rmdq", -1), (r"rdq", -1), (r"roland\w*", -1), (r"bothersome\w*", -1), (r"intensity", -1),
    (r"symptoms?", -1), (r"analgesics?", -1),
)
_QUANTITY = re.compile(r"\b(?:" + "|".join(f"(?P<q{i}>{p})" for i, (p, _) in enumerate(_QUANTITIES)) + r")\b")

#: the outcome a clause speaks of (a clause about another outcome says nothing about this row)
_OUTCOME_WORDS: dict[str, re.Pattern[str]] = {
    "pain": re.compile(r"\b(?:pain|vas|nrs|numerical rating|visual analog\w*|bothersome\w*|intensity)\b"),
    "function": re.compile(r"\b(?:function\w*|disability|odi|oswestry|rmdq|rdq|roland\w*|hfaq|ffbh\w*|"
                           r"hann?over)\b"),
    "responder": re.compile(r"\b(?:respon\w+|proportion|percentage|success\w*)\b"),
    "quality_of_life": re.compile(r"\b(?:quality of life|sf-?36|sf-?12|physical component|well-being)\b"),
    "medication": re.compile(r"\b(?:medication\w*|analgesic\w*|drug use|painkillers?)\b"),
}
#: clauses about something other than the outcome's size (harms, attrition, costs, the arms'
#: baseline, the dose): a "higher" there is no direction of the effect
_OFF_TOPIC = re.compile(r"\b(?:adverse|side[- ]effects?|harms?|dropouts?|drop-outs?|dropped out|withdr\w+|"
                        r"attrition|costs?|cost-\w+|compliance|adherence|expectations?|credibility|"
                        r"blind\w*|age|older|younger|women|men|female|male|bmi|dose|doses|sessions?|"
                        r"visits?|acupoints?)\b|(?<!from )\bbaseline\b")
_ACCEPTS = {
    "pain": {"pain"}, "function": {"function"}, "responder": {"responder", "pain", "function"},
    "quality_of_life": {"quality_of_life", "pain", "function"}, "global": set(_OUTCOME_WORDS),
}

_NUM_A = r"(?P<a>[" + _MINUS + r"]?\d+(?:\.\d+)?)"
_NUM_B = r"(?P<b>[" + _MINUS + r"]?\d+(?:\.\d+)?)"
_FILLER = r"(?:(?:by|of|a|an|mean|average|about|approximately|decline|decrease|reduction|improvement|" \
          r"increase|change|only|just)\s+){0,4}"
_ARMWISE = re.compile(
    r"\b(?P<w>[a-z]+)\s+" + _FILLER + _NUM_A + r"(?P<m1>[^;<]{0,120}?)<(?P<x>ARM_[IC])>"
    r"(?P<m2>[^;<\d]{0,40}?)\b(?:and|versus|vs\.?|compared with|whereas|while|but)\s+" + _FILLER
    + _NUM_B + r"(?P<m3>[^;<]{0,120}?)<(?P<y>ARM_[IC])>")
_RESPECTIVELY = re.compile(
    r"\b(?P<w>[a-z]+)\s+" + _FILLER + _NUM_A + r"[^;<\d]{0,40}?\b(?:and|versus|vs\.?)\s+" + _FILLER
    + _NUM_B + r"[^;<]{0,80}?<(?P<x>ARM_[IC])>[^;<]{0,30}?\b(?:and|versus|vs\.?)\s+(?:the\s+)?"
    r"<(?P<y>ARM_[IC])>[^;<]{0,40}?\brespectively\b")


_ARM_FIRST = re.compile(
    r"<(?P<x>ARM_[IC])>(?: [a-z-]+){0,4}? (?P<w>[a-z]+)\s+" + _FILLER + _NUM_A + r"[^;<]{0,60}?"
    r"\b(?:and|versus|vs\.?|compared with|whereas|while|but)\s+(?:(?:in|among|for|with|the)\s+){0,2}"
    r"<(?P<y>ARM_[IC])>(?: [a-z-]+){0,4}?\s+" + _FILLER.replace("{0,4}", "{0,5}") + _NUM_B)


def _strip_asides(text: str) -> str:
    """Text without parenthesised or bracketed asides (CIs, p-values, definitions)."""
    previous = None
    while previous != text:
        previous = text
        text = re.sub(r"\([^()]*\)|\[[^\[\]]*\]", " ", text)
    return re.sub(r"[ \t]+", " ", text)


def _sentences(text: str) -> list[str]:
    out = []
    for line in re.split(r"\n\s*\n|\n(?=[A-Z])", text):
        for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z(\"'])", line.replace("\n", " ")):
            if sentence.strip():
                out.append(sentence.strip())
    return out


def _clauses(sentence: str) -> list[str]:
    return [c for c in re.split(r";|:\s|,?\s+(?:but|whereas|while|although|however|yet)\s+", sentence)
            if c.strip()]


def _unsigned_numbers(text: str) -> frozenset:
    out = set()
    for m in _NUMBER.finditer(text):
        try:
            out.add(Decimal(m.group(2).replace(",", "")))
        except InvalidOperation:
            pass
    return frozenset(out)


def _mark_arms(clause: str, arms: ArmTerms) -> tuple[str, list[str]]:
    """Replace every arm phrase by ``<ARM_I>``, ``<ARM_C>`` or ``<ARM_F>`` (another comparison)."""
    found: list[str] = []

    def repl(m: re.Match) -> str:
        side = arms.sides[m.lastgroup]
        tag = {INTERVENTION: "ARM_I", CONTROL: "ARM_C"}.get(side, "ARM_F")
        found.append(tag)
        return f"<{tag}>"

    marked = arms.pattern.sub(repl, clause)
    # "acupuncture plus usual care" is the intervention arm of an add-on trial, not both arms
    marked = re.sub(r"<ARM_I>\s*(?:\+|plus|with|in addition to|added to)\s*(?:the\s+)?<ARM_C>", "<ARM_I>", marked)
    marked = re.sub(r"<ARM_I>\s*<ARM_I>", "<ARM_I>", marked)
    return marked, re.findall(r"<(ARM_[ICF])>", marked)


def _orientation(marked: str, higher_is_better: bool | None) -> int | None:
    m = _QUANTITY.search(marked)
    if m is not None:
        return _QUANTITIES[int(m.lastgroup[1:])][1]
    if higher_is_better is None:
        return None
    return 1 if higher_is_better else -1


_COPULA = frozenset({"was", "were", "is", "are", "been", "being", "be"})
_INTENSIFIERS = frozenset({"significantly", "statistically", "substantially", "considerably", "much",
                           "slightly", "markedly", "clinically", "also", "still"})


def _word_polarity(word: str, q: int | None) -> int | None:
    """+1: the subject did better; -1: worse; None: not a change word (or orientation unknown)."""
    if _GOOD.fullmatch(word):
        return 1
    if _BAD.fullmatch(word):
        return -1
    if _DOWN.fullmatch(word) or word in ("less", "fewer", "smaller"):
        return None if q is None else -q
    if _UP.fullmatch(word) or word in ("more", "greater", "larger"):
        return None if q is None else q
    return None


def _change_polarity(words: list[str], q: int | None) -> tuple[int | None, bool]:
    """(polarity of the clause's change words, whether the clause is comparative)."""
    arms = {i for i, w in enumerate(words) if w.startswith("<")}
    modifiers: dict[int, int] = {}  # index of a more/less word -> +1/-1
    change: list[int] = []
    for i, w in enumerate(words):
        if i in arms:
            continue
        if _GOOD.fullmatch(w) or _BAD.fullmatch(w) or _DOWN.fullmatch(w) or _UP.fullmatch(w):
            change.append(i)
    attached: dict[int, int] = {}  # change word -> the modifier that qualifies it
    for i, w in enumerate(words):
        if w in _MORE or w in _LESS:
            after_copula = (i > 0 and words[i - 1] in _COPULA) or \
                (i > 1 and words[i - 1] in _INTENSIFIERS and words[i - 2] in _COPULA)
            near = [j for j in change if 0 < abs(j - i) <= 3 and not any(k in arms for k in range(min(i, j), max(i, j)))]
            if not near and after_copula:
                near = [j for j in change if j < i][:1]  # "improvements ... were greater"
            if near:
                modifiers[i] = 1 if w in _MORE else -1
                attached[near[0]] = modifiers[i]
            elif w in ("less", "fewer", "more", "greater", "larger", "smaller") and (
                    (i + 1 < len(words) and _QUANTITY.fullmatch(words[i + 1])) or after_copula):
                change.append(i)  # "less pain", "was greater": the quantity itself
    comparative = bool(modifiers) or any(words[i] in _COMPARATIVE for i in change)
    polarities = set()
    for j in change:
        p = _word_polarity(words[j], q)
        if p is None:
            return None, comparative
        sign = attached.get(j)
        if sign is None:
            sign = next((m for i, m in modifiers.items() if 0 < abs(j - i) <= 3), 1)
        polarities.add(p * sign)
    if len(polarities) != 1:
        return None, comparative
    return polarities.pop(), comparative


def _subject(marked: str) -> tuple[str | None, bool]:
    """(the side that is the subject of a comparison, whether a reference arm is named)."""
    subject, reference = set(), set()
    for m in re.finditer(r"<(ARM_[IC])>", marked):
        side = INTERVENTION if m.group(1) == "ARM_I" else CONTROL
        if _REFERENCE.search(marked[:m.start()]):
            reference.add(side)
        else:
            subject.add(side)
    if len(subject) == 1 and (not reference or reference == {_OTHER[next(iter(subject))]}):
        return next(iter(subject)), bool(reference)
    if not subject and len(reference) == 1:
        return _OTHER[next(iter(reference))], True
    return None, bool(reference)


def _armwise(marked: str, q: int | None) -> str | None:
    """The side that changed more, from "improved by A in X and by B in Y" and its variants."""
    starts = [m.start() for m in re.finditer(r"<ARM_[IC]>|\b[a-z]+\b", marked)]
    for regex in (_ARMWISE, _RESPECTIVELY, _ARM_FIRST):
        for start in starts:
            m = regex.match(marked, start)
            if m is None or m.group("x") == m.group("y"):
                continue
            p = _word_polarity(m.group("w"), q)
            if p is None:
                continue
            a, b = (abs(Decimal(re.sub(f"[{_MINUS}]", "", m.group(i)))) for i in ("a", "b"))
            if a == b:
                continue
            x = INTERVENTION if m.group("x") == "ARM_I" else CONTROL
            better_x = (1 if a > b else -1) * p
            return x if better_x > 0 else _OTHER[x]
    return None


def _read_clause(clause: str, arms: ArmTerms, higher_is_better: bool | None, accepted: set[str]) -> tuple[str, str] | None:
    text = clause.lower().replace("\u2019", "'")
    text = re.sub(r"\s+", " ", text)
    text = _ANATOMY.sub("back", text)  # "the lower back" is a place, not a comparison
    marked, tags = _mark_arms(text, arms)
    if "ARM_F" in tags:
        return None  # an arm of another comparison: not about this row
    mentioned = {name for name, rx in _OUTCOME_WORDS.items() if rx.search(marked)}
    if mentioned and not (mentioned & accepted):
        return None  # about another outcome
    bare = re.sub(r"<ARM_[IC]>", " ", marked)
    if _NEGATION.search(bare) or _EQUALITY.search(bare) or _HEDGE.search(bare) or _OFF_TOPIC.search(bare):
        return None
    for rx in _FAVOURS:
        m = rx.search(marked)
        if m:
            return (INTERVENTION if m.group(1) == "ARM_I" else CONTROL), "favours"
    if _BOTH.search(marked):
        return None
    q = _orientation(marked, higher_is_better)
    side = _armwise(marked, q)
    if side is not None:
        return side, "arm-wise change"
    for m in _MARKER.finditer(marked):
        if not re.match(_FILLERS + r"<ARM_[IC]>", marked[m.end():]):
            return None  # compared with something that is not an arm of this row (a third arm, baseline, 30%)
    subject, has_reference = _subject(marked)
    if subject is None:
        return None
    better, worse = bool(_BETTER.search(bare)), bool(_WORSE.search(bare))
    if better != worse:
        return (subject if better else _OTHER[subject]), "superiority"
    if better and worse:
        return None
    words = _WORD.findall(marked)
    polarity, comparative = _change_polarity(words, q)
    if polarity is None or not (comparative or has_reference):
        return None
    return (subject if polarity > 0 else _OTHER[subject]), "comparative change"


_UNIT_WEEKS = {"minute": 1 / 10080, "min": 1 / 10080, "hour": 1 / 168, "h": 1 / 168, "day": 1 / 7, "week": 1.0, "wk": 1.0, "month": 52 / 12, "mo": 52 / 12, "year": 52.0}
_TIME = re.compile(r"\b(?:(?:at|after|by|to|until|through|over|in|of|within|for)\s+)?(?:(?:the\s+)?(?:end\s+of\s+)?)?"
                   r"(?P<unit1>days?|weeks?|wk|months?|years?)\s+(?P<n1>\d+(?:\.\d+)?)"
                   r"|(?P<ns>\d+(?:\.\d+)?(?:(?:\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|to)\s+|\s*-\s*)"
                   r"\d+(?:\.\d+)?)*)[\s-]*"
                   r"(?P<unit2>minutes?|min|hours?|h|days?|weeks?|wks?|months?|mos?|years?)\b(?!\s*(?:of\s+)?(?:treatment|therapy|"
                   r"sessions?|course|programme|program|intervention|duration))")
_WORD_NUMBERS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "eight": "8",
                 "ten": "10", "twelve": "12", "twenty-four": "24"}
_END_OF_TREATMENT = re.compile(r"\b(?:immediately after|end of (?:the )?(?:treatment|intervention|therapy)|"
                               r"post-?treatment|post-?intervention|after (?:the )?(?:last|final) session)\b")


def mentioned_weeks(text: str) -> frozenset:
    """Time points a clause names, in weeks ("at 3 and 6 months" -> {13.0, 26.0}).

    Durations of treatment ("12 sessions over 8 weeks", "6 weeks of treatment") are not time
    points and are left out; "immediately after" / "end of treatment" give 0 (weeks after
    treatment)."""
    low = text.lower()
    for word, digits in _WORD_NUMBERS.items():
        low = re.sub(rf"\b{word}\b", digits, low)
    out = set()
    for m in _TIME.finditer(low):
        before = low[max(0, m.start() - 30):m.start()]
        if re.search(r"\b(?:sessions?|treatments?|twice|times?)\s+(?:\w+\s+){0,2}(?:over|for|during)\s*$", before) \
                or re.search(r"\bover\s*$", before) or re.search(r"-(?:point|item|mm)\b", m.group(0)):
            continue  # a treatment duration, not a time point
        unit = (m.group("unit1") or m.group("unit2") or "").rstrip("s")
        factor = _UNIT_WEEKS.get(unit, _UNIT_WEEKS.get(unit[:2], None))
        if factor is None:
            continue
        numbers = [m.group("n1")] if m.group("n1") else re.findall(r"\d+(?:\.\d+)?", m.group("ns"))
        out.update(round(float(n) * factor, 2) for n in numbers)
    if _END_OF_TREATMENT.search(low):
        out.add(0.0)
    return frozenset(out)


def stated_directions(text: str, arms: ArmTerms, *, higher_is_better: bool | None = None,
                      outcome: str | None = None, quote_id: str | None = None) -> list[Statement]:
    """Every clause of ``text`` that says which arm of the row did better.

    Parameters
    ----------
    text : str
        A verbatim quote.
    arms : ArmTerms
        The row's arm vocabulary (:func:`arm_terms`).
    higher_is_better : bool, optional
        Orientation of the row's outcome, used for a quantity word ("lower", "decrease") in a
        clause that names no quantity.
    outcome : str, optional
        The row's outcome (``pain``, ``function``, ...): clauses about another outcome are skipped.
    """
    accepted = _ACCEPTS.get(outcome or "global", set(_OUTCOME_WORDS))
    out: list[Statement] = []
    for sentence in _sentences(text):
        bare = _strip_asides(sentence)
        for clause in _clauses(bare):
            read = _read_clause(clause, arms, higher_is_better, accepted)
            if read is not None:
                weeks = mentioned_weeks(clause) or mentioned_weeks(bare)
                out.append(Statement(read[0], sentence, read[1], _unsigned_numbers(sentence), quote_id, weeks))
    return out


# ---------------------------------------------------------------------------- entered numbers

def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) \
        or (isinstance(value, str) and not value.strip())


def _num(value: Any) -> Decimal | None:
    if _blank(value) or isinstance(value, bool):
        return None
    try:
        text = repr(value) if isinstance(value, float) else str(value).strip()
        for minus in _MINUS[:-1]:
            text = text.replace(minus, "-")
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if _blank(value):
        return None
    text = str(value).strip().lower()
    return True if text in ("true", "1", "yes") else False if text in ("false", "0", "no") else None


_RATIO = frozenset({"RR", "OR", "HR"})


def entered_direction(row: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(which arm the row's numbers favour, the column that carries it).

    Contrasts (arm 1 minus, or over, arm 2), arm means and arm event rates are read on the row's
    ``higher_is_better``; a ``test_only`` row's direction is its ``direction`` cell.  ``None``
    when the numbers are missing or exactly null.
    """
    shape = str(row.get("data_shape") or "").strip()
    hib = _bool(row.get("higher_is_better"))
    diff: Decimal | None = None
    column = None
    if shape == "contrast":
        effect = _num(row.get("effect"))
        measure = str(row.get("effect_measure") or "").strip().upper()
        if effect is not None:
            diff = (effect - 1) if measure in _RATIO else effect
            column = "effect"
    elif shape == "arm_continuous":
        m1, m2 = _num(row.get("mean1")), _num(row.get("mean2"))
        if m1 is not None and m2 is not None:
            diff, column = m1 - m2, "mean1"
    elif shape == "arm_binary":
        e1, n1, e2, n2 = (_num(row.get(c)) for c in ("events1", "n1", "events2", "n2"))
        if None not in (e1, n1, e2, n2) and n1 > 0 and n2 > 0:
            diff, column = e1 / n1 - e2 / n2, "events1"
    else:
        direction = str(row.get("direction") or "").strip()
        side = {"favours_intervention": INTERVENTION, "favours_control": CONTROL}.get(direction)
        return side, ("direction" if side else None)
    if diff is None or diff == 0 or hib is None:
        return None, column
    return (INTERVENTION if (diff > 0) == hib else CONTROL), column


# ----------------------------------------------------------------------------- signed numbers

def _signed_tokens(text: str) -> list[Decimal]:
    """Numbers of ``text`` with their printed sign (a dash between two digits is a range)."""
    out = []
    for m in _NUMBER.finditer(text):
        sign, digits = m.group(1), m.group(2)
        try:
            value = Decimal(digits.replace(",", ""))
        except InvalidOperation:
            continue
        start = m.start()
        if sign and start > 0 and (text[start - 1].isalnum() or text[start - 1] in ".%"):
            sign = ""  # "13.9-30.0": a range
        out.append(-value if sign else value)
    return out


def _as_printed(row: Mapping[str, Any], column: str, derived: Mapping[str, str]) -> Decimal | None:
    value = _num(row.get(column))
    if value is None:
        return None
    conv = derived.get(column)
    if conv == "negate":
        return -value
    if conv == "percent_to_proportion":
        return value * 100
    if conv is None:
        return value
    return None  # another conversion: not a printed triple


def _fmt(triple: Sequence[Decimal]) -> str:
    e, lo, hi = (f"{x.normalize():f}" if x == x.to_integral_value() else str(x) for x in triple)
    return f"{e} ({lo} to {hi})"


def printed_sign_problems(row: Mapping[str, Any], texts: Mapping[str, str], derived: Mapping[str, str], *,
                          file: str, row_number: int | None, source: str) -> list[Problem]:
    """A contrast whose quote prints it with a sign, entered with the opposite one."""
    if str(row.get("data_shape") or "").strip() != "contrast" \
            or str(row.get("effect_measure") or "").strip().upper() in _RATIO:
        return []
    cols = ("effect", "effect_ci_low", "effect_ci_high")
    entered = [_as_printed(row, c, derived) for c in cols]
    if any(v is None for v in entered):
        return []
    e, lo, hi = entered
    ci = sorted((lo, hi))
    for qid, text in texts.items():
        tokens = [t for t in _signed_tokens(text)]
        for i, t in enumerate(tokens):
            if abs(t) != abs(e):
                continue
            rest = [x for x in tokens[i + 1:i + 4] if abs(x) not in (Decimal(95), Decimal(90), Decimal(99))][:2]
            if len(rest) != 2 or sorted(abs(x) for x in rest) != sorted(abs(x) for x in ci):
                continue
            printed = (t, *sorted(rest))
            if all(x >= 0 for x in printed):
                continue  # a magnitude: its sign is given in words
            if printed == (e, *ci):
                return []
            if printed == (-e, *sorted((-ci[0], -ci[1]))):
                negated = all(derived.get(c) == "negate" for c in cols)
                fix = ("enter them as printed (remove negate from derived)" if negated else
                       "enter them as printed, or, if the source's difference is arm 2 minus arm 1, "
                       "name it in derived: effect=negate;effect_ci_low=negate;effect_ci_high=negate")
                shown = [_num(row.get(c)) for c in cols]
                return [Problem(file, row_number, "effect", str(row.get("effect")),
                                f"sign reversed: quote {qid} of {source} prints {_fmt(printed)}, the row "
                                f"gives {_fmt((shown[0], *sorted(shown[1:])))}"
                                + (" with derived negate" if negated else "") + f"; {fix}")]
    return []


# ----------------------------------------------------------------------------------- the check

def _side_words(side: str, row: Mapping[str, Any]) -> str:
    if side == INTERVENTION:
        return "acupuncture (arm 1)"
    label = re.split(r"[(,]", str(row.get("comparator_label") or ""), maxsplit=1)[0].strip()
    return f"{label or 'the comparator'} (arm 2)"


def _short(sentence: str, limit: int = 220) -> str:
    sentence = re.sub(r"\s+", " ", sentence).strip()
    return sentence if len(sentence) <= limit else sentence[:limit - 1].rstrip() + "\u2026"


def _row_weeks(row: Mapping[str, Any]) -> set[float]:
    """The row's time point as a source may state it: weeks since randomisation, or after treatment."""
    tp, tw, wat = (_num(row.get(c)) for c in ("timepoint_weeks", "treatment_weeks", "weeks_after_treatment"))
    if wat is None and tp is not None and tw is not None:
        wat = tp - tw
    return {float(x) for x in (tp, wat) if x is not None}


def _row_numbers(row: Mapping[str, Any]) -> set[Decimal]:
    out = set()
    for c in ("effect", "effect_ci_low", "effect_ci_high", "p_value", "mean1", "mean2", "events1", "events2"):
        v = _num(row.get(c))
        if v is not None:
            out.add(abs(v))
    return out


def direction_problems(row: Mapping[str, Any], quotes: Mapping[str, str], *, file: str,
                       row_number: int | None, source: str, derived: Mapping[str, str] | None = None,
                       other_labels: Sequence[str] = ()) -> list[Problem]:
    """Problems where the row's direction disagrees with what its quotes state.

    Parameters
    ----------
    row : mapping
        One row of data/trials.csv (strings or typed values).
    quotes : mapping
        Quote id -> verbatim text, for the quotes the row names.
    file, row_number, source : str, int, str
        Where the row is, and the record's path for messages (``evidence/Witt2006.yaml``).
    derived : mapping, optional
        Parsed ``derived`` cell: column -> conversion name.
    other_labels : sequence of str
        Arm labels of the study's other comparisons (see :func:`arm_terms`).
    """
    derived = dict(derived or {})
    problems = printed_sign_problems(row, quotes, derived, file=file, row_number=row_number, source=source)
    arms = arm_terms(row, other_labels)
    hib = _bool(row.get("higher_is_better"))
    outcome = str(row.get("outcome") or "").strip() or None
    statements = [s for qid, text in quotes.items()
                  for s in stated_directions(text, arms, higher_is_better=hib, outcome=outcome, quote_id=qid)]
    when = _row_weeks(row)
    statements = [s for s in statements if not s.weeks or not when
                  or any(abs(w - t) <= 1.5 for w in s.weeks for t in when)]
    if len({s.favours for s in statements}) > 1:
        mine = _row_numbers(row)
        statements = [s for s in statements if s.numbers & mine]
    sides = {s.favours for s in statements}
    entered, column = entered_direction(row)
    direction = str(row.get("direction") or "").strip()
    dir_side = {"favours_intervention": INTERVENTION, "favours_control": CONTROL}.get(direction)
    shape = str(row.get("data_shape") or "").strip()
    if len(sides) == 1:
        stated = sides.pop()
        first = next(s for s in statements if s.favours == stated)
        said = (f"quote {first.quote_id} of {source} says {_side_words(stated, row)} did better: "
                f"\"{_short(first.sentence)}\"")
        if entered is not None and column != "direction" and entered != stated:
            scale = str(row.get("scale") or "").strip() or "the scale"
            orient = "higher" if hib else "lower"
            what = {"effect": "a contrast is arm 1 minus (or over) arm 2: check the signs of effect, "
                              "effect_ci_low and effect_ci_high",
                    "mean1": "check the signs of mean1 and mean2 (change scores are follow-up minus baseline)",
                    "events1": "check that events1/n1 are the acupuncture arm's"}.get(column, "")
            problems.append(Problem(file, row_number, column, str(row.get(column)),
                                    f"direction: the numbers favour {_side_words(entered, row)} ({scale}: "
                                    f"{orient} is better), but {said}; {what}"))
        if dir_side is not None and dir_side != stated:
            problems.append(Problem(file, row_number, "direction", direction,
                                    f"direction: {direction}, but {said}"))
    if dir_side is not None and shape != "test_only" and entered is not None and entered != dir_side:
        problems.append(Problem(file, row_number, "direction", direction,
                                f"direction: {direction}, but the row's numbers favour {_side_words(entered, row)}"))
    return problems
