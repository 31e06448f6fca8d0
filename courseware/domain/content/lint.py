"""Warnings about quiz banks: patterns that let a learner guess the key without the knowledge.

None of these stops a check or a sync; each is printed as `path:line: warning: ...` so an author
can look. Options are shuffled when shown, but a habit in how keys are written (the right answer
first, True more often than False, the right reply being the one that asks a question) tends to
show in the wording too, and near-duplicate stems let a learner answer from memory.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from courseware.domain.content.model import QuestionSpec, QuizSpec
from courseware.domain.content.source import Located, Problem

MIN_SINGLE_FOR_POSITIONS = 8
MIN_TRUE_FALSE = 4
TRUE_SHARE = (40, 60)  # percent of true/false questions whose key is True
MIN_MULTIPLE = 4
DUPLICATE_SIMILARITY = 0.8
QUESTION_CUE_PERCENT = 30
QUOTES = ("\"", "“", "'", "‘", "«", "„")


def bank_warnings(quizzes: dict[str, QuizSpec], docs: dict[str, Located]) -> list[Problem]:
    """Warnings per bank, then near-duplicate prompts within and across banks."""
    warnings: list[Problem] = []
    for slug, quiz in sorted(quizzes.items()):
        doc = docs[slug]
        if not quiz.questions:
            continue
        where = doc.line("questions", 0)
        for message in (_positions(quiz), _true_false(quiz), _multiple(quiz), _question_cue(quiz)):
            if message:
                warnings.append(Problem(doc.path, where, message, warning=True))
    warnings.extend(_duplicates(quizzes, docs))
    return warnings


def _positions(quiz: QuizSpec) -> str | None:
    """The keyed option of single questions sits in one position of the file too often."""
    singles = [q for q in quiz.questions if q.kind == "single"]
    if len(singles) < MIN_SINGLE_FOR_POSITIONS:
        return None
    position, count = Counter(min(q.correct_indexes) for q in singles).most_common(1)[0]
    if count * 2 <= len(singles):
        return None
    return (f"the keyed option is option {position + 1} in {count} of {len(singles)} single "
            "questions; vary where the right answer is written")


def _true_false(quiz: QuizSpec) -> str | None:
    items = [q for q in quiz.questions if q.kind == "true_false"]
    if len(items) < MIN_TRUE_FALSE:
        return None
    trues = sum(1 for q in items if q.options[min(q.correct_indexes)].text == "True")
    low, high = TRUE_SHARE
    if low * len(items) <= trues * 100 <= high * len(items):
        return None
    return (f"True is the right answer in {trues} of {len(items)} true/false questions "
            f"({round(trues * 100 / len(items))}%); keep it between {low}% and {high}%")


def _multiple(quiz: QuizSpec) -> str | None:
    items = [q for q in quiz.questions if q.kind == "multiple"]
    if len(items) < MIN_MULTIPLE:
        return None
    correct, count = Counter(len(q.correct_indexes) for q in items).most_common(1)[0]
    if count * 2 <= len(items):
        return None
    return (f"{count} of {len(items)} multiple-answer questions have exactly {correct} correct "
            f"option{'s' if correct != 1 else ''}; vary the number of right answers")


def _question_cue(quiz: QuizSpec) -> str | None:
    """Among quoted replies, the right one is too often the only one that asks a question."""
    quoted = [q for q in quiz.questions if q.kind == "single"
              and all(o.text.startswith(QUOTES) for o in q.options)]
    cued = [q for q in quoted if _only_key_asks(q)]
    if not quoted or len(cued) * 100 <= QUESTION_CUE_PERCENT * len(quoted):
        return None
    return (f"in {len(cued)} of {len(quoted)} single questions with quoted replies, the keyed "
            "reply is the only option that asks a question; let some wrong replies ask too")


def _only_key_asks(question: QuestionSpec) -> bool:
    asking = {i for i, o in enumerate(question.options) if "?" in o.text}
    return asking == question.correct_indexes


# --- near-duplicate prompts -------------------------------------------------------------------

def tokens(text: str) -> frozenset[str]:
    """The prompt as a set of lower-case words: case, punctuation and order do not count."""
    return frozenset(re.findall(r"\w+", text.casefold()))


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two token sets (0 when both are empty)."""
    union = a | b
    return len(a & b) / len(union) if union else 0.0


def _all_questions(quizzes: dict[str, QuizSpec],
                   docs: dict[str, Located]) -> Iterator[tuple[str, int, QuestionSpec]]:
    for slug, quiz in sorted(quizzes.items()):
        for index, question in enumerate(quiz.questions):
            yield docs[slug].path, docs[slug].line("questions", index, "prompt"), question


def _duplicates(quizzes: dict[str, QuizSpec], docs: dict[str, Located]) -> list[Problem]:
    items = [(path, line, q, tokens(q.prompt)) for path, line, q in _all_questions(quizzes, docs)]
    warnings = []
    for j, (path, line, question, words) in enumerate(items):
        for other_path, other_line, other, other_words in items[:j]:
            if similarity(words, other_words) >= DUPLICATE_SIMILARITY:
                warnings.append(Problem(path, line, (
                    f"question '{question.id}' has nearly the same prompt as question "
                    f"'{other.id}' ({other_path}:{other_line})"), warning=True))
    return warnings
