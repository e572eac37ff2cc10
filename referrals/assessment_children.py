"""The per-child parts of a § 8a risk assessment: their rules, the shared parts' rules, and the version
history (issue 13 §2; codes in docs/statistik-8a.md, rules in docs/domain.md "Gefährdungseinschätzung
je Kind"). ``referrals.services.assessment_save`` calls ``assessment_parts_save`` inside its
transaction; the statistics' validation report asks ``child_part_problems`` the same questions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.actor import actor_of

from .assessment_models import (
    RESULT_SEVERITY,
    RISK_RESULTS,
    AssessmentChild,
    AssessmentVersion,
)
from .models import Assessment, Child

if TYPE_CHECKING:
    from django.contrib.auth.models import User

PART_FIELDS = (
    "result", "kinds", "danger_from", "residence", "foreign_origin", "german_spoken", "help_before", "help_new",
    "birth_month", "birth_year",
)  # fmt: skip
MIN_PROFESSIONALS = 2


def child_part_problems(part: AssessmentChild, child: Child) -> dict[str, list[str]]:
    """What is missing or contradictory in one child's part, by field (empty: complete)."""
    problems: dict[str, list[str]] = {}

    def say(field: str, text: str) -> None:
        problems.setdefault(field, []).append(text)

    if not part.result:
        say("result", _("Choose the result for this child."))
    elif part.result in RISK_RESULTS:
        if not part.kinds:
            say("kinds", _("With an endangerment, give at least one kind."))
        if not part.danger_from:
            say("danger_from", _("With an endangerment, say from whom the danger mainly comes."))
    else:
        if part.kinds:
            say("kinds", _("Kinds of endangerment are given only for an acute or latent endangerment."))
        if part.danger_from:
            say("danger_from", _("The person the danger comes from is given only for an endangerment."))
    if not part.residence:
        say("residence", _("Say where the child lived when the referral came."))
    if not part.foreign_origin:
        say("foreign_origin", _("Say whether at least one parent is of foreign origin."))
    if part.german_spoken is None:
        say("german_spoken", _("Say whether German is mainly spoken in the family."))
    if not part.help_before:
        say("help_before", _("Say which help the family received at the time (or “No help”)."))
    elif "none" in part.help_before and len(part.help_before) > 1:
        say("help_before", _("Choose “No help” only on its own."))
    if not part.help_new:
        say("help_new", _("Say which help was newly started (or “No help”)."))
    elif "none" in part.help_new and len(part.help_new) > 1:
        say("help_new", _("Choose “No help” only on its own."))
    if child.date_of_birth is not None:
        if part.birth_month or part.birth_year:
            say("birth_year", _("Police gave the date of birth; no estimate is needed."))
    elif not (part.birth_month and part.birth_year):
        say("birth_year", _("Police gave no date of birth: give the estimated month and year of birth."))
    return problems


def overall_outcome(parts: list[AssessmentChild]) -> str:
    """The assessment's one outcome (what retention and older reports read): the most severe result."""
    results = {p.result for p in parts}
    return next(str(r) for r in RESULT_SEVERITY if r in results)


def parts_build(assessment: Assessment, children_input: list[dict[str, Any]]) -> list[AssessmentChild]:
    """The children's parts from the input (``child`` is a child id of the referral), checked: every
    child of the referral exactly once, each part complete and consistent. Raises ValidationError with
    paths ``children[i].field``."""
    children = {c.pk: c for c in assessment.referral.children.all()}
    errors: dict[str, list[str]] = {}
    parts, seen = [], set()
    for i, item in enumerate(children_input):
        child_id = item.get("child")
        child_id = getattr(child_id, "pk", child_id)
        child = children.get(child_id) if isinstance(child_id, int) else None
        if child is None:
            errors[f"children[{i}].child"] = [_("This child does not belong to the referral.")]
            continue
        if child_id in seen:
            errors[f"children[{i}].child"] = [_("Each child is assessed once.")]
            continue
        seen.add(child_id)
        part = AssessmentChild(assessment=assessment, child=child, **{k: item[k] for k in PART_FIELDS if k in item})
        for field in ("kinds", "danger_from", "help_before", "help_new"):
            setattr(part, field, list(getattr(part, field) or []))
        for field, texts in child_part_problems(part, child).items():
            errors.setdefault(f"children[{i}].{field}", []).extend(texts)
        try:
            part.full_clean(exclude=["assessment", "child"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            for field, texts in exc.message_dict.items():
                errors.setdefault(f"children[{i}].{field}", []).extend(texts)
        parts.append(part)
    missing = [c for pk, c in children.items() if pk not in seen]
    if missing and not errors:
        errors["children"] = [_("Assess every child of the referral: %(count)s missing.") % {"count": len(missing)}]
    if errors:
        raise ValidationError(errors)
    return parts


def professionals_check(assessment: Assessment, professionals: list[int]) -> list[int]:
    """At least two distinct people of the responsible office took part (§ 8a Abs. 1: several
    professionals); returns the ids in the order given."""
    ids = list(dict.fromkeys(int(getattr(p, "pk", p)) for p in professionals or []))
    if any(not 0 < pk < 2**63 for pk in ids):  # no person has such an id (and SQLite cannot bind it)
        raise ValidationError({"professionals": [_("Choose people of the responsible youth office.")]})
    if len(ids) < MIN_PROFESSIONALS:
        raise ValidationError({"professionals": [_("Name at least two professionals who took part.")]})
    office = assessment.referral.youth_office_id
    people = get_user_model().objects.filter(pk__in=ids, is_active=True)
    if len(people) != len(ids) or any(office not in actor_of(person).office_ids for person in people):
        raise ValidationError({"professionals": [_("Choose people of the responsible youth office.")]})
    return ids


def version_data(assessment: Assessment, parts: list[AssessmentChild]) -> dict[str, Any]:
    """What one version holds: the shared parts and the children's parts (codes and ids only)."""
    return {
        "summary": assessment.summary,
        "outcome": assessment.outcome,
        "measures": list(assessment.measures),
        "home_visit_on": assessment.home_visit_on.isoformat() if assessment.home_visit_on else None,
        "child_seen": assessment.child_seen,
        "impressions": list(assessment.impressions),
        "professionals": list(assessment.professionals),
        "children": [{"child": p.child_id, **{k: getattr(p, k) for k in PART_FIELDS}} for p in parts],
    }


def assessment_parts_save(assessment: Assessment, user: User, parts: list[AssessmentChild] | None) -> AssessmentVersion:
    """Store the children's parts of the (unsigned, just saved) assessment and its new version. Parts
    of an earlier version of the same unsigned assessment are replaced (that version keeps them in its
    ``data``); ``parts`` None: an assessment without children's parts (recorded the old way)."""
    if parts is not None:
        AssessmentChild.objects.filter(assessment=assessment).delete()
        for part in parts:
            part.assessment = assessment
        AssessmentChild.objects.bulk_create(parts)
    else:
        parts = list(assessment.child_parts.all())
    return AssessmentVersion.objects.create(
        assessment=assessment,
        number=assessment.revision,
        author=user,
        written_at=timezone.now(),
        data=version_data(assessment, parts),
    )
