"""Parse and validate content files into specs, collecting every problem with its line."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from courseware.domain.content.model import (
    QUESTION_KINDS,
    Catalogue,
    CriterionSpec,
    LevelSpec,
    ModuleSpec,
    OptionSpec,
    PersonaSpec,
    QuestionSpec,
    QuizSpec,
    RenewalSpec,
    RequirementSet,
    RoleplaySpec,
    RubricSpec,
    TrackSpec,
)
from courseware.domain.content.source import ContentError, Located, Problem, load_toml

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_TEXT = 20_000

# Field kinds understood by `_fields`.
TEXT, INT, BOOL, TEXTS, TABLES, TABLE = "text", "int", "bool", "texts", "tables", "table"


class _Reader:
    """Checks one table's keys and types, recording problems instead of raising."""

    def __init__(self, doc: Located, problems: list[Problem]):
        self.doc = doc
        self.problems = problems

    def add(self, message: str, *where: str | int) -> None:
        self.problems.append(self.doc.problem(message, *where))

    def fields(
        self,
        table: Any,
        where: tuple[str | int, ...],
        required: dict[str, str],
        optional: dict[str, str] | None = None,
    ) -> dict[str, Any] | None:
        optional = optional or {}
        name = _describe(where)
        if not isinstance(table, dict):
            self.add(f"{name} must be a table", *where)
            return None
        ok = True
        for key in table:
            if key not in required and key not in optional:
                allowed = ", ".join(sorted({*required, *optional}))
                self.add(f"unknown key '{key}' in {name} (allowed: {allowed})", *where, key)
                ok = False
        for key in required:
            if key not in table:
                self.add(f"missing required key '{key}' in {name}", *where)
                ok = False
        for key, kind in {**required, **optional}.items():
            if key in table and not self._typed(table[key], kind, (*where, key)):
                ok = False
        return table if ok else None

    def _typed(self, value: Any, kind: str, where: tuple[str | int, ...]) -> bool:
        key = where[-1]
        if kind == TEXT:
            if not isinstance(value, str) or not value.strip():
                self.add(f"'{key}' must be non-empty text", *where)
                return False
            if len(value) > MAX_TEXT:
                self.add(f"'{key}' is longer than {MAX_TEXT} characters", *where)
                return False
        elif kind == INT and (isinstance(value, bool) or not isinstance(value, int)):
            self.add(f"'{key}' must be a whole number", *where)
            return False
        elif kind == BOOL and not isinstance(value, bool):
            self.add(f"'{key}' must be true or false", *where)
            return False
        elif kind == TEXTS and (
            not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value)
        ):
            self.add(f"'{key}' must be a list of non-empty text", *where)
            return False
        elif kind == TABLES and (
            not isinstance(value, list) or not all(isinstance(v, dict) for v in value)
        ):
            self.add(f"'{key}' must be an array of tables ([[{key}]])", *where)
            return False
        elif kind == TABLE and not isinstance(value, dict):
            self.add(f"'{key}' must be a table ([{key}])", *where)
            return False
        return True

    def int_range(self, table: dict[str, Any], key: str, low: int, high: int,
                  *where: str | int) -> bool:
        value = table[key]
        if not low <= value <= high:
            self.add(f"'{key}' must be between {low} and {high}, not {value}", *where, key)
            return False
        return True

    def unique_ids(self, items: list[dict[str, Any]], array: str, *where: str | int) -> None:
        seen: dict[str, int] = {}
        for index, item in enumerate(items):
            ident = item.get("id")
            if not isinstance(ident, str):
                continue
            if not SLUG.match(ident):
                self.add(f"id '{ident}' must be lower-case letters, digits and hyphens",
                         *where, array, index, "id")
            if ident in seen:
                first = self.doc.line(*where, array, seen[ident], "id")
                self.add(f"duplicate id '{ident}' (first used on line {first})",
                         *where, array, index, "id")
            else:
                seen[ident] = index


def _describe(where: tuple[str | int, ...]) -> str:
    if not where:
        return "the file"
    parts = [str(p) if isinstance(p, str) else f"#{p + 1}" for p in where]
    return " ".join(parts)


def _open(path: str, text: str) -> tuple[_Reader | None, list[Problem]]:
    """A reader over the parsed TOML, or no reader and the syntax problem."""
    try:
        doc = load_toml(path, text)
    except ContentError as exc:
        return None, exc.problems
    problems: list[Problem] = []
    return _Reader(doc, problems), problems


# --- modules -------------------------------------------------------------------------------

FRONT_MATTER = "+++"


def parse_module(path: str, slug: str, text: str) -> tuple[ModuleSpec | None, list[Problem]]:
    lines = text.splitlines()
    if not lines or lines[0].strip() != FRONT_MATTER:
        return None, [Problem(path, 1, "a module starts with TOML front matter between +++ lines")]
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == FRONT_MATTER)
    except StopIteration:
        return None, [Problem(path, 1, "front matter is not closed by a +++ line")]
    try:
        doc = load_toml(path, "\n".join(lines[1:end]), line_offset=1)
    except ContentError as exc:
        return None, exc.problems
    problems: list[Problem] = []
    reader = _Reader(doc, problems)
    body = "\n".join(lines[end + 1 :]).strip()
    if not SLUG.match(slug):
        problems.append(Problem(path, 1, f"file name '{slug}' must be a slug (a-z, 0-9, -)"))
    data = reader.fields(
        doc.data, (),
        {"title": TEXT, "order": INT, "minutes": INT, "summary": TEXT, "objectives": TEXTS,
         "requires": TEXTS},
    )
    if not body:
        problems.append(Problem(path, end + 2,
                                "the module has no lesson text after the front matter"))
    if data is None:
        return None, problems
    reader.int_range(data, "order", 1, 1000)
    reader.int_range(data, "minutes", 1, 600)
    if not data["objectives"]:
        reader.add("'objectives' must list at least one objective", "objectives")
    if slug in data["requires"]:
        reader.add("a module cannot require itself", "requires")
    if problems:
        return None, problems
    spec = ModuleSpec(
        slug=slug, title=data["title"].strip(), order=data["order"], minutes=data["minutes"],
        summary=data["summary"].strip(), objectives=tuple(data["objectives"]),
        requires=tuple(data["requires"]), body=body,
    )
    return spec, problems


# --- quizzes -------------------------------------------------------------------------------

def parse_quiz(path: str, slug: str, text: str) -> tuple[QuizSpec | None, list[Problem]]:
    reader, problems = _open(path, text)
    if reader is None:
        return None, problems
    doc = reader.doc
    data = reader.fields(
        doc.data, (),
        {"module": TEXT, "title": TEXT, "pass_percent": INT, "questions_per_attempt": INT,
         "max_attempts": INT, "cooldown_minutes": INT, "questions": TABLES},
    )
    if data is None:
        return None, problems
    reader.int_range(data, "pass_percent", 1, 100)
    reader.int_range(data, "max_attempts", 0, 1000)
    reader.int_range(data, "cooldown_minutes", 0, 60 * 24 * 30)
    questions = [q for i, q in enumerate(data["questions"]) if _question_ok(reader, q, i)]
    reader.unique_ids(data["questions"], "questions")
    if not data["questions"]:
        reader.add("a quiz needs at least one [[questions]]", "questions")
    elif (reader.int_range(data, "questions_per_attempt", 1, 500)
          and data["questions_per_attempt"] > len(data["questions"])):
        reader.add(
            f"'questions_per_attempt' is {data['questions_per_attempt']} but the bank has "
            f"only {len(data['questions'])} questions", "questions_per_attempt",
        )
    if problems:
        return None, problems
    spec = QuizSpec(
        slug=slug, module=data["module"], title=data["title"].strip(),
        pass_percent=data["pass_percent"], questions_per_attempt=data["questions_per_attempt"],
        max_attempts=data["max_attempts"], cooldown_minutes=data["cooldown_minutes"],
        questions=tuple(_question(q) for q in questions),
    )
    return spec, problems


def _question_ok(reader: _Reader, q: Any, index: int) -> bool:
    where = ("questions", index)
    data = reader.fields(
        q, where,
        {"id": TEXT, "kind": TEXT, "prompt": TEXT, "explanation": TEXT, "options": TABLES},
        {"scenario": BOOL},
    )
    if data is None:
        return False
    ok = True
    for o_index, option in enumerate(data["options"]):
        if reader.fields(option, (*where, "options", o_index),
                         {"text": TEXT, "correct": BOOL, "feedback": TEXT}) is None:
            ok = False
    if not ok:
        return False
    kind, options = data["kind"], data["options"]
    correct = sum(1 for o in options if o["correct"])
    qid = data["id"]
    if kind not in QUESTION_KINDS:
        reader.add(f"question '{qid}': kind must be one of {', '.join(QUESTION_KINDS)}, "
                   f"not '{kind}'", *where, "kind")
        return False
    if len(options) < 2:
        reader.add(f"question '{qid}' needs at least two options", *where)
        return False
    if len(options) > 8:
        reader.add(f"question '{qid}' has more than eight options", *where)
        return False
    if correct == 0:
        reader.add(f"question '{qid}' has no correct option", *where)
        return False
    if kind in ("single", "true_false") and correct > 1:
        reader.add(f"question '{qid}' is '{kind}' but has {correct} correct options", *where)
        return False
    if kind == "true_false" and sorted(o["text"] for o in options) != ["False", "True"]:
        reader.add(f"question '{qid}' is true_false: its two options must be 'True' and 'False'",
                   *where)
        return False
    texts = [o["text"].strip().casefold() for o in options]
    if len(set(texts)) != len(texts):
        reader.add(f"question '{qid}' has two options with the same text", *where)
        return False
    return True


def _question(q: dict[str, Any]) -> QuestionSpec:
    return QuestionSpec(
        id=q["id"], kind=q["kind"], scenario=q.get("scenario", False),
        prompt=q["prompt"].strip(), explanation=q["explanation"].strip(),
        options=tuple(
            OptionSpec(text=o["text"].strip(), correct=o["correct"], feedback=o["feedback"].strip())
            for o in q["options"]
        ),
    )


# --- role-plays ----------------------------------------------------------------------------

def parse_roleplay(path: str, slug: str, text: str) -> tuple[RoleplaySpec | None, list[Problem]]:
    reader, problems = _open(path, text)
    if reader is None:
        return None, problems
    doc = reader.doc
    data = reader.fields(
        doc.data, (),
        {"module": TEXT, "title": TEXT, "brief": TEXT, "persona": TABLE, "lines": TABLES,
         "rubric": TABLE},
    )
    if data is None:
        return None, problems
    persona = reader.fields(data["persona"], ("persona",), {"name": TEXT, "description": TEXT})
    line_ok = all(
        reader.fields(line, ("lines", i), {"text": TEXT}) is not None
        for i, line in enumerate(data["lines"])
    )
    if not data["lines"]:
        reader.add("a role-play needs at least one [[lines]] entry for the mentee", "lines")
    rubric = _rubric(reader, data["rubric"])
    if problems or persona is None or not line_ok or rubric is None:
        return None, problems
    spec = RoleplaySpec(
        slug=slug, module=data["module"], title=data["title"].strip(), brief=data["brief"].strip(),
        persona=PersonaSpec(name=persona["name"].strip(),
                            description=persona["description"].strip()),
        lines=tuple(line["text"].strip() for line in data["lines"]),
        rubric=rubric,
    )
    return spec, problems


def _rubric(reader: _Reader, table: Any) -> RubricSpec | None:
    data = reader.fields(table, ("rubric",),
                         {"pass_percent": INT, "meets_score": INT, "criteria": TABLES})
    if data is None:
        return None
    start = len(reader.problems)
    reader.int_range(data, "pass_percent", 1, 100, "rubric")
    if not data["criteria"]:
        reader.add("a rubric needs at least one [[rubric.criteria]]", "rubric")
    reader.unique_ids(data["criteria"], "criteria", "rubric")
    criteria = []
    for index, criterion in enumerate(data["criteria"]):
        spec = _criterion(reader, criterion, index, data["meets_score"])
        if spec:
            criteria.append(spec)
    if len(reader.problems) > start:
        return None
    max_total = sum(c.max_score for c in criteria)
    if criteria and len(criteria) * data["meets_score"] * 100 < data["pass_percent"] * max_total:
        # a learner who meets the standard on every criterion must pass, or the rubric lies
        reader.add(
            f"a learner at meets_score ({data['meets_score']}) on every criterion scores "
            f"{len(criteria) * data['meets_score']} of {max_total}, below pass_percent "
            f"({data['pass_percent']}%)", "rubric", "pass_percent")
        return None
    return RubricSpec(pass_percent=data["pass_percent"], meets_score=data["meets_score"],
                      criteria=tuple(criteria))


def _criterion(reader: _Reader, table: Any, index: int, meets: int) -> CriterionSpec | None:
    where = ("rubric", "criteria", index)
    data = reader.fields(table, where,
                         {"id": TEXT, "title": TEXT, "critical": BOOL, "levels": TABLES})
    if data is None:
        return None
    levels = []
    for l_index, level in enumerate(data["levels"]):
        lv = reader.fields(level, (*where, "levels", l_index),
                           {"score": INT, "label": TEXT, "descriptor": TEXT})
        if lv is None:
            return None
        levels.append(LevelSpec(score=lv["score"], label=lv["label"].strip(),
                                descriptor=lv["descriptor"].strip()))
    cid = data["id"]
    if len(levels) < 2:
        reader.add(f"criterion '{cid}' needs at least two levels", *where)
        return None
    for l_index in range(1, len(levels)):
        if levels[l_index].score <= levels[l_index - 1].score:
            reader.add(
                f"criterion '{cid}': level scores must rise in order "
                f"({levels[l_index - 1].score} then {levels[l_index].score})",
                *where, "levels", l_index, "score",
            )
            return None
    if levels[0].score < 0:
        reader.add(f"criterion '{cid}': level scores cannot be negative", *where, "levels", 0)
        return None
    if all(level.score != meets for level in levels):
        reader.add(f"criterion '{cid}' has no level with score {meets} (the rubric's meets_score)",
                   *where)
        return None
    return CriterionSpec(id=cid, title=data["title"].strip(), critical=data["critical"],
                         levels=tuple(levels))


# --- tracks --------------------------------------------------------------------------------

_REQUIREMENT_KEYS = {"modules": TEXTS, "quizzes": TEXTS, "roleplays": TEXTS}


def parse_track(path: str, slug: str, text: str) -> tuple[TrackSpec | None, list[Problem]]:
    reader, problems = _open(path, text)
    if reader is None:
        return None, problems
    doc = reader.doc
    data = reader.fields(
        doc.data, (),
        {"title": TEXT, "description": TEXT, "valid_months": INT, "grants_eligibility": BOOL,
         **_REQUIREMENT_KEYS},
        {"renewal": TABLE},
    )
    if data is None:
        return None, problems
    reader.int_range(data, "valid_months", 1, 240)
    renewal = None
    if "renewal" in data:
        r = reader.fields(data["renewal"], ("renewal",), {"window_days": INT}, _REQUIREMENT_KEYS)
        if r is not None and reader.int_range(r, "window_days", 1, 365, "renewal"):
            renewal = RenewalSpec(window_days=r["window_days"], requirements=_requirement_set(r))
    if not (data["modules"] or data["quizzes"] or data["roleplays"]):
        reader.add("a track must require at least one module, quiz or role-play")
    if problems:
        return None, problems
    spec = TrackSpec(
        slug=slug, title=data["title"].strip(), description=data["description"].strip(),
        valid_months=data["valid_months"], grants_eligibility=data["grants_eligibility"],
        requirements=_requirement_set(data), renewal=renewal,
    )
    return spec, problems


def _requirement_set(data: dict[str, Any]) -> RequirementSet:
    return RequirementSet(
        modules=tuple(data.get("modules", ())),
        quizzes=tuple(data.get("quizzes", ())),
        roleplays=tuple(data.get("roleplays", ())),
    )


# --- the whole tree ------------------------------------------------------------------------

Parser = Callable[[str, str, str], tuple[Any, list[Problem]]]


def load_catalogue(root: Path) -> Catalogue:
    """Parse and cross-check every content file under `root`; raise ContentError on any problem."""
    problems: list[Problem] = []
    catalogue = Catalogue()
    docs: dict[tuple[str, str], tuple[str, Located | None]] = {}
    sources = [
        ("modules", "*.md", ".md", parse_module, catalogue.modules),
        ("quizzes", "*.quiz.toml", ".quiz.toml", parse_quiz, catalogue.quizzes),
        ("quizzes", "*.roleplay.toml", ".roleplay.toml", parse_roleplay, catalogue.roleplays),
        ("certificates", "*.toml", ".toml", parse_track, catalogue.tracks),
    ]
    for folder, pattern, suffix, parser, into in sources:
        for file in sorted((root / folder).glob(pattern)):
            rel = f"{folder}/{file.name}"
            slug = file.name[: -len(suffix)]
            try:
                text = file.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                problems.append(Problem(rel, 1, "the file is not valid UTF-8"))
                continue
            spec, found = parser(rel, slug, text)
            problems.extend(found)
            if spec is not None:
                into[slug] = spec
                docs[(folder, slug)] = (rel, _relocate(rel, text, suffix))
    for stray in sorted((root / "quizzes").glob("*.toml")):
        if not stray.name.endswith((".quiz.toml", ".roleplay.toml")):
            problems.append(Problem(f"quizzes/{stray.name}", 1,
                                    "quiz files end in .quiz.toml, role-plays in .roleplay.toml"))
    problems.extend(_cross_check(catalogue, docs))
    if problems:
        raise ContentError(problems)
    return catalogue


def _relocate(rel: str, text: str, suffix: str) -> Located | None:
    """Line information for cross-checks (modules: the front matter only)."""
    if suffix == ".md":
        lines = text.splitlines()
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == FRONT_MATTER)
        return load_toml(rel, "\n".join(lines[1:end]), line_offset=1)
    return load_toml(rel, text)


def _cross_check(
    catalogue: Catalogue, docs: dict[tuple[str, str], tuple[str, Located | None]]
) -> list[Problem]:
    problems: list[Problem] = []

    def at(folder: str, slug: str, message: str, *where: str | int) -> None:
        rel, doc = docs[(folder, slug)]
        problems.append(doc.problem(message, *where) if doc else Problem(rel, 1, message))

    modules = catalogue.modules
    orders: dict[int, str] = {}
    for slug, module in sorted(modules.items()):
        for required in module.requires:
            if required not in modules:
                at("modules", slug, f"requires unknown module '{required}'", "requires")
        if module.order in orders:
            at("modules", slug, f"order {module.order} is also used by '{orders[module.order]}'",
               "order")
        orders.setdefault(module.order, slug)
    for cycle in _cycles({s: m.requires for s, m in modules.items()}):
        at("modules", cycle[0], "prerequisite cycle: " + " -> ".join([*cycle, cycle[0]]),
           "requires")
    for slug, quiz in sorted(catalogue.quizzes.items()):
        if quiz.module not in modules:
            at("quizzes", slug, f"quiz for unknown module '{quiz.module}'", "module")
    for slug, roleplay in sorted(catalogue.roleplays.items()):
        if roleplay.module not in modules:
            at("quizzes", slug, f"role-play for unknown module '{roleplay.module}'", "module")
    for slug, track in sorted(catalogue.tracks.items()):
        sets = [((), track.requirements)]
        if track.renewal:
            sets.append((("renewal",), track.renewal.requirements))
        for prefix, reqs in sets:
            for kind, names, known in (
                ("module", reqs.modules, modules),
                ("quiz", reqs.quizzes, catalogue.quizzes),
                ("role-play", reqs.roleplays, catalogue.roleplays),
            ):
                key = {"module": "modules", "quiz": "quizzes", "role-play": "roleplays"}[kind]
                for name in names:
                    if name not in known:
                        at("certificates", slug, f"track names unknown {kind} '{name}'",
                           *prefix, key)
    return problems


def _cycles(graph: dict[str, tuple[str, ...]]) -> list[list[str]]:
    """Each prerequisite cycle once, as a list of slugs starting at its smallest member."""
    found: set[tuple[str, ...]] = set()
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        if node in trail:
            cycle = trail[trail.index(node):]
            pivot = cycle.index(min(cycle))
            canonical = tuple(cycle[pivot:] + cycle[:pivot])
            if canonical not in found:
                found.add(canonical)
                cycles.append(list(canonical))
            return
        for nxt in graph.get(node, ()):
            if nxt in graph:
                visit(nxt, [*trail, node])

    for start in sorted(graph):
        visit(start, [])
    return cycles
