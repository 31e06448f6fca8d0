"""Parse and validate content files into specs, collecting every problem with its line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from courseware.domain.content.calibration import check_calibration, parse_calibration
from courseware.domain.content.crisis import CRISIS_LINES, country_problem, parse_crisis_lines
from courseware.domain.content.lint import bank_warnings
from courseware.domain.content.model import (
    QUESTION_KINDS,
    REVIEW_MODES,
    Catalogue,
    ModuleSpec,
    OptionSpec,
    PersonaSpec,
    QuestionSpec,
    QuizSpec,
    RenewalSpec,
    RequirementSet,
    RoleplaySpec,
    TrackSpec,
)
from courseware.domain.content.placeholders import first_placeholder, placeholder_problems
from courseware.domain.content.reader import (
    BOOL,
    INT,
    SLUG,
    TABLE,
    TABLES,
    TEXT,
    TEXTS,
    Reader,
    open_toml,
)
from courseware.domain.content.source import ContentError, Located, Problem, load_toml
from courseware.domain.rubric import CriterionSpec, LevelSpec, RubricSpec

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
    reader = Reader(doc, problems)
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
    reader, problems = open_toml(path, text)
    if reader is None:
        return None, problems
    doc = reader.doc
    data = reader.fields(
        doc.data, (),
        {"module": TEXT, "title": TEXT, "pass_percent": INT, "questions_per_attempt": INT,
         "max_attempts": INT, "cooldown_minutes": INT, "questions": TABLES},
        {"attempts_per_day": INT, "review": TEXT},
    )
    if data is None:
        return None, problems
    data = {"attempts_per_day": 3, "review": "after_pass", **data}
    reader.int_range(data, "pass_percent", 1, 100)
    reader.int_range(data, "max_attempts", 0, 1000)
    reader.int_range(data, "cooldown_minutes", 0, 60 * 24 * 30)
    reader.int_range(data, "attempts_per_day", 0, 1000)
    if data["review"] not in REVIEW_MODES:
        reader.add(f"'review' must be one of {', '.join(REVIEW_MODES)}, not '{data['review']}'",
                   "review")
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
        attempts_per_day=data["attempts_per_day"], review=data["review"],
    )
    return spec, problems


def _question_ok(reader: Reader, q: Any, index: int) -> bool:
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
    reader, problems = open_toml(path, text)
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


# Without `min_score`, a rubric parsed now refuses any criterion at level 1 ("Not yet").
DEFAULT_MIN_SCORE = 2


def _rubric(reader: Reader, table: Any) -> RubricSpec | None:
    data = reader.fields(table, ("rubric",),
                         {"pass_percent": INT, "meets_score": INT, "criteria": TABLES},
                         {"min_score": INT})
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
    floor = data.get("min_score", DEFAULT_MIN_SCORE)
    if not _rubric_floor_ok(reader, criteria, floor, data["meets_score"], "min_score" in data):
        return None
    return RubricSpec(pass_percent=data["pass_percent"], meets_score=data["meets_score"],
                      criteria=tuple(criteria), min_score=floor)


def _rubric_floor_ok(reader: Reader, criteria: list[CriterionSpec], floor: int, meets: int,
                     given: bool) -> bool:
    """The rubric's min_score fits every criterion it applies to (not critical, no own floor).

    A critical criterion needs meets_score anyway, so the rubric's floor says nothing about it.
    """
    ok = True
    which = f"min_score {floor}" if given else f"the default min_score ({floor})"
    where: tuple[str | int, ...] = ("rubric", "min_score") if given else ("rubric",)
    users = [(i, c) for i, c in enumerate(criteria) if not c.critical and c.min_score is None]
    if users and floor > meets:
        reader.add(f"{which} is above meets_score ({meets}); set min_score in [rubric]", *where)
        return False
    for index, criterion in users:
        if criterion.level(floor) is None:
            scores = ", ".join(str(lv.score) for lv in criterion.levels)
            reader.add(f"{which} is not a level score of criterion '{criterion.id}' ({scores}); "
                       "set min_score in [rubric] or in the criterion",
                       *(where if given else ("rubric", "criteria", index)))
            ok = False
    return ok


def _criterion(reader: Reader, table: Any, index: int, meets: int) -> CriterionSpec | None:
    where = ("rubric", "criteria", index)
    data = reader.fields(table, where,
                         {"id": TEXT, "title": TEXT, "critical": BOOL, "levels": TABLES},
                         {"min_score": INT})
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
    spec = CriterionSpec(id=cid, title=data["title"].strip(), critical=data["critical"],
                         levels=tuple(levels), min_score=data.get("min_score"))
    return spec if _criterion_floor_ok(reader, spec, where, meets) else None


def _criterion_floor_ok(reader: Reader, criterion: CriterionSpec,
                        where: tuple[str | int, ...], meets: int) -> bool:
    floor = criterion.min_score
    if floor is None:
        return True
    at = (*where, "min_score")
    cid = criterion.id
    if criterion.level(floor) is None:
        scores = ", ".join(str(lv.score) for lv in criterion.levels)
        reader.add(f"criterion '{cid}': min_score {floor} is not one of its level scores "
                   f"({scores})", *at)
        return False
    if floor > meets:
        reader.add(f"criterion '{cid}': min_score {floor} is above meets_score ({meets})", *at)
        return False
    if criterion.critical and floor < meets:
        # a lower floor on a critical criterion would read as if it could pass below meets
        reader.add(f"criterion '{cid}' is critical, so it needs meets_score ({meets}) anyway: "
                   f"min_score {floor} says less; remove it", *at)
        return False
    return True


# --- tracks --------------------------------------------------------------------------------

_REQUIREMENT_KEYS = {"modules": TEXTS, "quizzes": TEXTS, "roleplays": TEXTS}


def parse_track(path: str, slug: str, text: str) -> tuple[TrackSpec | None, list[Problem]]:
    reader, problems = open_toml(path, text)
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
Docs = dict[tuple[str, str], Located]  # (kind, slug) -> the parsed file, for line numbers

STRAY_MESSAGE = ("quiz files end in .quiz.toml, role-plays in .roleplay.toml, calibration "
                 "anchors in .calibration.toml")


def _sources(catalogue: Catalogue) -> list[tuple[str, str, str, Parser, dict[str, Any]]]:
    """(kind, folder, file suffix, parser, where the specs go) for each kind of content file."""
    return [
        ("module", "modules", ".md", parse_module, catalogue.modules),
        ("quiz", "quizzes", ".quiz.toml", parse_quiz, catalogue.quizzes),
        ("roleplay", "quizzes", ".roleplay.toml", parse_roleplay, catalogue.roleplays),
        ("calibration", "quizzes", ".calibration.toml", parse_calibration,
         catalogue.calibrations),
        ("track", "certificates", ".toml", parse_track, catalogue.tracks),
    ]


def load_catalogue(root: Path, country: str | None = None) -> Catalogue:
    """Parse and cross-check every content file under `root`; raise ContentError on any problem.

    `country`, the COURSE_COUNTRY setting, must then be defined in modules/crisis-lines.toml.
    Advice that is no error (answer-key patterns, near-duplicate questions) is in `warnings`.
    """
    problems: list[Problem] = []
    catalogue = Catalogue()
    docs: Docs = {}
    texts: dict[str, str] = {}
    for kind, folder, suffix, parser, into in _sources(catalogue):
        for file in sorted((root / folder).glob(f"*{suffix}")):
            rel = f"{folder}/{file.name}"
            try:
                text = file.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                problems.append(Problem(rel, 1, "the file is not valid UTF-8"))
                continue
            slug = file.name[: -len(suffix)]
            spec, found = parser(rel, slug, text)
            problems.extend(found)
            problems.extend(placeholder_problems(rel, text))
            texts[rel] = text
            if spec is not None:
                into[slug] = spec
                docs[(kind, slug)] = _relocate(rel, text, suffix)
    for stray in sorted((root / "quizzes").glob("*.toml")):
        if not stray.name.endswith((".quiz.toml", ".roleplay.toml", ".calibration.toml")):
            problems.append(Problem(f"quizzes/{stray.name}", 1, STRAY_MESSAGE))
    problems.extend(_crisis_lines(root, catalogue, country, texts))
    problems.extend(_cross_check(catalogue, docs))
    catalogue.warnings.extend(bank_warnings(
        catalogue.quizzes, {slug: docs[("quiz", slug)] for slug in catalogue.quizzes}))
    if problems:
        raise ContentError(problems, catalogue.warnings)
    return catalogue


def _relocate(rel: str, text: str, suffix: str) -> Located:
    """Line information for cross-checks (modules: the front matter only)."""
    if suffix == ".md":
        lines = text.splitlines()
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == FRONT_MATTER)
        return load_toml(rel, "\n".join(lines[1:end]), line_offset=1)
    return load_toml(rel, text)


def _crisis_lines(root: Path, catalogue: Catalogue, country: str | None,
                  texts: dict[str, str]) -> list[Problem]:
    """Read the crisis lines into the catalogue; the configured country must be there."""
    path = root / CRISIS_LINES
    if not path.exists():
        return _placeholders_without_values(texts)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return [Problem(CRISIS_LINES, 1, "the file is not valid UTF-8")]
    countries, problems = parse_crisis_lines(CRISIS_LINES, text)
    catalogue.crisis_lines.update(countries)
    missing = country_problem(countries, country) if country and not problems else None
    return [*problems, *([missing] if missing else [])]


def _placeholders_without_values(texts: dict[str, str]) -> list[Problem]:
    problems = []
    for rel, text in sorted(texts.items()):
        first = first_placeholder(text)
        if first:
            problems.append(Problem(rel, first[0], f"{first[1]} has no value: "
                                                   f"{CRISIS_LINES} is missing"))
    return problems


def _cross_check(catalogue: Catalogue, docs: Docs) -> list[Problem]:
    problems: list[Problem] = []

    def at(kind: str, slug: str, message: str, *where: str | int) -> None:
        problems.append(docs[(kind, slug)].problem(message, *where))

    modules = catalogue.modules
    orders: dict[int, str] = {}
    for slug, module in sorted(modules.items()):
        for required in module.requires:
            if required not in modules:
                at("module", slug, f"requires unknown module '{required}'", "requires")
        if module.order in orders:
            at("module", slug, f"order {module.order} is also used by '{orders[module.order]}'",
               "order")
        orders.setdefault(module.order, slug)
    for cycle in _cycles({s: m.requires for s, m in modules.items()}):
        at("module", cycle[0], "prerequisite cycle: " + " -> ".join([*cycle, cycle[0]]),
           "requires")
    for slug, quiz in sorted(catalogue.quizzes.items()):
        if quiz.module not in modules:
            at("quiz", slug, f"quiz for unknown module '{quiz.module}'", "module")
    for slug, roleplay in sorted(catalogue.roleplays.items()):
        if roleplay.module not in modules:
            at("roleplay", slug, f"role-play for unknown module '{roleplay.module}'", "module")
    for slug, calibration in sorted(catalogue.calibrations.items()):
        problems.extend(check_calibration(calibration, catalogue.roleplays,
                                          docs[("calibration", slug)]))
    for slug, track in sorted(catalogue.tracks.items()):
        problems.extend(_track_names(catalogue, track, docs[("track", slug)]))
    return problems


def _track_names(catalogue: Catalogue, track: TrackSpec, doc: Located) -> list[Problem]:
    problems: list[Problem] = []
    sets: list[tuple[tuple[str, ...], RequirementSet]] = [((), track.requirements)]
    if track.renewal:
        sets.append((("renewal",), track.renewal.requirements))
    for prefix, reqs in sets:
        for kind, key, names, known in (
            ("module", "modules", reqs.modules, catalogue.modules),
            ("quiz", "quizzes", reqs.quizzes, catalogue.quizzes),
            ("role-play", "roleplays", reqs.roleplays, catalogue.roleplays),
        ):
            problems.extend(doc.problem(f"track names unknown {kind} '{name}'", *prefix, key)
                            for name in names if name not in known)
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
