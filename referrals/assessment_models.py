"""The per-child part of a § 8a risk assessment and the assessment's version history (issue 13 §2;
rules and codes in docs/statistik-8a.md and docs/domain.md, "Gefährdungseinschätzung je Kind").

The law asks for one statistics record per child per completed assessment (§ 99 Abs. 6, §§ 101–102
SGB VIII): siblings often differ. So the assessment keeps the shared parts (how the office gained a
direct impression of the child, which professionals took part) and has one ``AssessmentChild`` per
child of the referral. Sex and date of birth are the child's as police filed them (``Child``), never
typed twice; only where police gave no date of birth the office may give an estimated month/year.

Every save of an assessment is kept as an ``AssessmentVersion`` (who, when, what), so nothing typed is
ever lost and every version stays readable. Registered in ``referrals.models`` by one import line.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import Assessment, Child, Outcome

RISK_RESULTS = (Outcome.ACUTE_RISK, Outcome.LATENT_RISK)
# Most severe first: the assessment's overall ``outcome`` (what retention reads) is the most severe
# result of its children.
RESULT_SEVERITY = (Outcome.ACUTE_RISK, Outcome.LATENT_RISK, Outcome.SUPPORT_NEED, Outcome.NO_RISK_NO_NEED)


class Impression(models.TextChoices):
    """How the office gained a direct impression of the child (shared part)."""

    HOME_VISIT = "home_visit", _("Home visit")
    KITA_SCHOOL = "kita_school", _("Visit at Kita or school")
    PARENTS_INVITED = "parents_invited", _("Parents and child invited to the office")


class EndangermentKind(models.TextChoices):
    NEGLECT = "neglect", _("Signs of neglect")
    PHYSICAL = "physical_abuse", _("Signs of physical abuse")
    PSYCHOLOGICAL = "psychological_abuse", _("Signs of psychological abuse")
    SEXUAL = "sexual_violence", _("Signs of sexual violence")


class DangerFrom(models.TextChoices):
    MOTHER = "mother", _("Mother")
    FATHER = "father", _("Father")
    STEP_PARENT = "step_parent", _("Step-parent or partner of a parent")
    OTHER_RELATIVE = "other_relative", _("Other relative")
    OTHER_PERSON = "other_person", _("Other person")
    UNKNOWN = "unknown", _("Unknown")


class Residence(models.TextChoices):
    """Where the child lived when the referral came."""

    BOTH_PARENTS = "both_parents", _("With both parents")
    SINGLE_PARENT = "single_parent", _("With a single parent")
    PARENT_NEW_PARTNER = "parent_new_partner", _("With a parent and a new partner")
    RELATIVES = "relatives", _("With grandparents or other relatives")
    FOSTER_FAMILY = "foster_family", _("In a foster family")
    RESIDENTIAL = "residential_care", _("In residential care")
    OTHER = "other_unknown", _("Elsewhere or unknown")


class YesNoUnknown(models.TextChoices):
    YES = "yes", _("yes")
    NO = "no", _("no")
    UNKNOWN = "unknown", _("unknown")


class Help(models.TextChoices):
    """Help under SGB VIII: received when the referral came (``help_before``) or newly started after the
    assessment (``help_new``; there also taking into care and the family court)."""

    NONE = "none", _("No help")
    S16_19 = "s16_19", _("Support of upbringing in the family (§§ 16–19)")
    S27_2 = "s27_2", _("Other help towards upbringing (§ 27 Abs. 2)")
    S28 = "s28", _("Child guidance (§ 28)")
    S29 = "s29", _("Social group work (§ 29)")
    S30 = "s30", _("Educational assistance (§ 30)")
    S31 = "s31", _("Socio-pedagogical family support (§ 31)")
    S32 = "s32", _("Day group (§ 32)")
    S33 = "s33", _("Full-time foster care (§ 33)")
    S34 = "s34", _("Residential care (§ 34)")
    S35 = "s35", _("Intensive individual support (§ 35)")
    S35A = "s35a", _("Integration help for mental disability (§ 35a)")
    S42 = "s42", _("Taking into care (§ 42)")
    FAMILY_COURT = "family_court", _("Application to the family court")
    OTHER = "other", _("Other help")


HELP_BEFORE = [h for h in Help if h not in (Help.S42, Help.FAMILY_COURT)]
HELP_NEW = list(Help)


@deconstructible
class CodeListValidator:
    """A JSON list of distinct codes of the named list of this module (``CODE_LISTS``)."""

    def __init__(self, name: str):
        self.name = name

    def __call__(self, value):
        allowed = {str(code.value) for code in CODE_LISTS[self.name]()}
        if not isinstance(value, list) or any(v not in allowed for v in value):
            raise ValidationError(
                gettext("Unknown value. Allowed: %(allowed)s") % {"allowed": ", ".join(sorted(allowed))}
            )
        if len(set(value)) != len(value):
            raise ValidationError(gettext("A value is listed twice."))

    def __eq__(self, other):
        return isinstance(other, CodeListValidator) and other.name == self.name


CODE_LISTS = {
    "impressions": lambda: list(Impression),
    "kinds": lambda: list(EndangermentKind),
    "danger_from": lambda: list(DangerFrom),
    "help_before": lambda: HELP_BEFORE,
    "help_new": lambda: HELP_NEW,
}


class AssessmentChild(models.Model):
    """The part of one assessment (one version of it) for one child: what the § 8a statistic asks."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="child_parts")
    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="assessment_parts")
    result = models.CharField(_("result"), max_length=20, choices=Outcome.choices)
    kinds = models.JSONField(
        _("kinds of endangerment"), default=list, blank=True, validators=[CodeListValidator("kinds")]
    )
    danger_from = models.JSONField(
        _("danger mainly from"), default=list, blank=True, validators=[CodeListValidator("danger_from")]
    )
    residence = models.CharField(_("where the child lived"), max_length=20, choices=Residence.choices, blank=True)
    foreign_origin = models.CharField(
        _("at least one parent of foreign origin"), max_length=10, choices=YesNoUnknown.choices, blank=True
    )
    german_spoken = models.BooleanField(_("German mainly spoken in the family"), null=True, blank=True)
    help_before = models.JSONField(
        _("help received at the time"), default=list, blank=True, validators=[CodeListValidator("help_before")]
    )
    help_new = models.JSONField(
        _("help newly started"), default=list, blank=True, validators=[CodeListValidator("help_new")]
    )
    # Only where police gave no date of birth: the office's estimate (month and year).
    birth_month = models.PositiveSmallIntegerField(
        _("estimated month of birth"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    birth_year = models.PositiveSmallIntegerField(
        _("estimated year of birth"), null=True, blank=True, validators=[MinValueValidator(1900)]
    )

    class Meta:
        verbose_name = _("assessment of a child")
        verbose_name_plural = _("assessments of the children")
        ordering = ["child_id", "id"]
        constraints = [models.UniqueConstraint(fields=["assessment", "child"], name="assessment_child_once")]

    def __str__(self) -> str:
        return f"{self.assessment_id}/{self.child_id}: {self.result}"


class AssessmentVersion(models.Model):
    """One saved version of an assessment: who wrote it, when, and what (``data``: the shared parts and
    the children's parts as saved). Never changed; the history of the assessment."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    written_at = models.DateTimeField(_("written"))
    data = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("assessment version")
        verbose_name_plural = _("assessment versions")
        ordering = ["assessment", "-number"]
        constraints = [models.UniqueConstraint(fields=["assessment", "number"], name="assessment_version_once")]

    def __str__(self) -> str:
        return f"{self.assessment_id} v{self.number}"


class StatisticRecord(models.Model):
    """The anonymous § 8a statistics record of one child of a case deleted under the retention rules
    (``referrals.statistics.statistic_rows_keep``): the export's codes only — no id, no reference, no
    name of the case — so a year's export survives the deletion (docs/statistik-8a.md)."""

    office = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="+")
    jahr_ende = models.CharField(max_length=4)
    monat_ende = models.CharField(max_length=2)
    geschlecht = models.CharField(max_length=1)
    geburtsmonat = models.CharField(max_length=2, blank=True)
    geburtsjahr = models.CharField(max_length=4, blank=True)
    aufenthalt = models.CharField(max_length=1, blank=True)
    alter_mutter = models.CharField(max_length=1)
    alter_vater = models.CharField(max_length=1)
    herkunft_ausland = models.CharField(max_length=1, blank=True)
    deutsch = models.CharField(max_length=1, blank=True)
    quelle = models.CharField(max_length=2)
    wiederholt = models.CharField(max_length=1)
    hilfe_vorher = models.CharField(max_length=200, blank=True)
    ergebnis = models.CharField(max_length=1, blank=True)
    vernachlaessigung = models.CharField(max_length=1)
    koerperlich = models.CharField(max_length=1)
    psychisch = models.CharField(max_length=1)
    sexuell = models.CharField(max_length=1)
    gefahr_von = models.CharField(max_length=200, blank=True)
    hilfe_neu = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("§ 8a statistics record of a deleted case")
        verbose_name_plural = _("§ 8a statistics records of deleted cases")
        indexes = [models.Index(fields=["office", "jahr_ende"], name="statisticrecord_office_year")]

    def __str__(self) -> str:
        return f"{self.office_id} {self.jahr_ende}-{self.monat_ende}: {self.ergebnis}"
