"""Agencies of a district, the people working in them (memberships) and jurisdiction by postcode."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin

# ``[0-9]``, not ``\d``: in Python ``\d`` also matches full-width and Arabic-Indic digits (４０７２３),
# and what is stored and compared must be ASCII digits. ``\Z``, not ``$``, which allows a final newline.
postcode_validator = RegexValidator(r"\A[0-9]{5}\Z", _("A German postcode has exactly five digits."))
ags_validator = RegexValidator(
    r"\A[0-9]{8}\Z", _("A municipality key (Amtlicher Gemeindeschlüssel) has exactly eight digits.")
)


class District(models.Model):
    """A district (Kreis) whose police authority and youth offices cooperate, e.g. Kreis Mettmann.

    Seed data is per district (``seed_district <slug>``); several districts can live in one system.
    """

    slug = models.SlugField(_("key"), unique=True)
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        verbose_name = _("district")
        verbose_name_plural = _("districts")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AgencyKind(models.TextChoices):
    POLICE_AUTHORITY = "police_authority", _("Police authority")
    POLICE_STATION = "police_station", _("Police station")
    YOUTH_OFFICE = "youth_office", _("Youth office")
    COORDINATION = "coordination", _("Coordination office")


class AgencyQuerySet(models.QuerySet):
    def youth_offices(self):
        return self.filter(kind=AgencyKind.YOUTH_OFFICE, is_active=True)


class Agency(models.Model):
    """A police authority, police station, youth office (Jugendamt) or coordination office.

    Agencies are not personal data: every logged-in person may see the list (it is needed to pick
    an office when forwarding). A station belongs to its authority (``parent``).
    """

    district = models.ForeignKey(
        District, on_delete=models.PROTECT, related_name="agencies", verbose_name=_("district")
    )
    kind = models.CharField(_("kind"), max_length=32, choices=AgencyKind.choices)
    name = models.CharField(_("name"), max_length=200)
    code = models.CharField(
        _("code"),
        max_length=20,
        help_text=_(
            "Short key, unique within the district; for the police authority the prefix of referral references."
        ),
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent agency"),
        help_text=_("For a police station: its police authority."),
    )
    city = models.CharField(_("city"), max_length=100, blank=True)
    email = models.EmailField(_("functional mailbox"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    oncall_phone = models.CharField(_("on-call phone (Rufbereitschaft)"), max_length=40, blank=True)
    oncall_email = models.EmailField(
        _("on-call mailbox"), blank=True, help_text=_("Receives immediate referrals round the clock.")
    )
    is_24h = models.BooleanField(_("staffed round the clock"), default=False)
    # Seeded placeholder contact data (phone numbers, mailboxes, persons) that the agency still has
    # to replace with its real ones; the directory marks it as such.
    contacts_placeholder = models.BooleanField(_("contact details are placeholders"), default=False)
    contacts_updated_at = models.DateTimeField(_("contact details updated"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # Response clocks of a youth office (docs/domain.md "Dringlichkeit und Fristen"): how long it has to
    # acknowledge a referral. Immediate runs round the clock; the others count NRW working days.
    clock_immediate_hours = models.PositiveSmallIntegerField(
        _("acknowledge immediate referrals within (hours)"), default=1
    )
    clock_urgent_working_days = models.PositiveSmallIntegerField(
        _("acknowledge urgent referrals within (working days)"), default=1
    )
    clock_routine_working_days = models.PositiveSmallIntegerField(
        _("acknowledge routine referrals within (working days)"), default=3
    )
    # Coordination office: how long an immediate referral may wait in the triage queue before it
    # escalates (real hours, round the clock; docs/domain.md "Sofort-Fälle").
    clock_triage_hours = models.PositiveSmallIntegerField(
        _("route immediate referrals from triage within (hours)"), default=1
    )

    objects = AgencyQuerySet.as_manager()

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["district", "code"], name="agency_code_unique_in_district"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        if self.kind == AgencyKind.POLICE_STATION and (
            self.parent is None or self.parent.kind != AgencyKind.POLICE_AUTHORITY
        ):
            raise ValidationError({"parent": _("A police station belongs to a police authority.")})
        if self.kind != AgencyKind.POLICE_STATION and self.parent_id:
            raise ValidationError({"parent": _("Only police stations have a parent agency.")})

    @property
    def police_authority(self):
        """The authority a police agency belongs to (itself for the authority)."""
        if self.kind == AgencyKind.POLICE_AUTHORITY:
            return self
        if self.kind == AgencyKind.POLICE_STATION:
            return self.parent
        return None


class JurisdictionArea(models.Model):
    """One row of the jurisdiction table: in ``postcode``, the addresses of ``municipality`` belong to
    ``youth_office`` (§ 86 SGB VIII: the parents' residence decides).

    A postcode may have several rows — one per municipality that uses it (40721 is Hilden and
    Düsseldorf) — and the rows of one postcode may belong to offices of different districts of the
    instance; then the city of the address decides. ``(postcode, municipality)`` is unique: two
    offices claiming the same municipality in the same postcode is a data error, refused when seeding
    or importing (docs/jurisdiction.md). ``shared_with`` names municipalities *outside the instance*
    that use the postcode too (so an address naming one of them goes to triage, not to this office);
    ``city_names`` are further spellings of the municipality. ``municipality_key`` is the normalised
    name (``agencies.routing.normalize_city``) the uniqueness and the routing lookup use.
    """

    youth_office = models.ForeignKey(
        Agency,
        on_delete=models.CASCADE,
        related_name="jurisdiction_areas",
        limit_choices_to={"kind": AgencyKind.YOUTH_OFFICE},
        verbose_name=_("youth office"),
    )
    postcode = models.CharField(_("postcode"), max_length=5, validators=[postcode_validator])
    municipality = models.CharField(_("municipality"), max_length=100)
    municipality_key = models.CharField(_("municipality (normalised)"), max_length=100, editable=False)
    ags = models.CharField(
        _("municipality key (AGS)"),
        max_length=8,
        blank=True,
        validators=[ags_validator],
        help_text=_("Amtlicher Gemeindeschlüssel, eight digits, e.g. 05158016 for Hilden."),
    )
    city_names = models.CharField(
        _("other spellings"),
        max_length=300,
        blank=True,
        help_text=_("Comma-separated spellings of the city, e.g. Langenfeld, Langenfeld (Rhld.)"),
    )
    shared_with = models.CharField(
        _("shared with cities outside the district"),
        max_length=300,
        blank=True,
        help_text=_("Comma-separated, e.g. Düsseldorf"),
    )

    class Meta:
        verbose_name = _("postcode area")
        verbose_name_plural = _("postcode areas")
        ordering = ["postcode", "municipality_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["postcode", "municipality_key"], name="postcode_area_one_office_per_municipality"
            ),
        ]
        # The routing lookup is one query: rows of the postcode OR rows of the city (to tell an
        # unknown postcode of a known city from an address outside the instance); the unique
        # constraint's index serves the first, this one the second.
        indexes = [models.Index(fields=["municipality_key"], name="postcode_area_municipality")]

    def __str__(self) -> str:
        return f"{self.postcode} {self.municipality} → {self.youth_office}"

    def save(self, *args, **kwargs):
        from .routing import normalize_city  # routing imports these models: imported when used

        self.municipality_key = normalize_city(self.municipality)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "municipality" in update_fields:
            kwargs["update_fields"] = {*update_fields, "municipality_key"}
        super().save(*args, **kwargs)

    def clean(self):
        from .routing import normalize_city  # routing imports these models: imported when used

        if self.youth_office_id and self.youth_office.kind != AgencyKind.YOUTH_OFFICE:
            raise ValidationError({"youth_office": _("Postcodes belong to youth offices only.")})
        if not normalize_city(self.municipality):
            raise ValidationError({"municipality": _("Enter the municipality's name.")})
        self.municipality_key = normalize_city(self.municipality)

    def validate_constraints(self, exclude=None):
        # The unique constraint is on the normalised name, which the form does not show: name the
        # conflict in words an administrator understands.
        clash = (
            JurisdictionArea.objects.filter(postcode=self.postcode, municipality_key=self.municipality_key)
            .exclude(pk=self.pk)
            .select_related("youth_office")
            .first()
        )
        if clash is not None:
            raise ValidationError(
                _("%(postcode)s %(municipality)s already belongs to %(office)s.")
                % {"postcode": self.postcode, "municipality": clash.municipality, "office": clash.youth_office}
            )
        super().validate_constraints(exclude=exclude)

    @property
    def is_shared(self) -> bool:
        return bool(self.shared_with.strip())


class Role(models.TextChoices):
    POLICE_OFFICER = "police_officer", _("Police officer")
    POLICE_COORDINATOR = "police_coordinator", _("Police coordinator")
    CASEWORKER = "caseworker", _("Caseworker")
    OFFICE_LEAD = "office_lead", _("Office lead")
    DISTRICT_COORDINATOR = "district_coordinator", _("District coordinator")
    # Sees the access log of their office (who viewed which case), never a referral's contents.
    DATA_PROTECTION_OFFICER = "data_protection_officer", _("Data protection officer")


# Which agency kind each role belongs to.
ROLE_AGENCY_KIND = {
    Role.POLICE_OFFICER: AgencyKind.POLICE_STATION,
    Role.POLICE_COORDINATOR: AgencyKind.POLICE_AUTHORITY,
    Role.CASEWORKER: AgencyKind.YOUTH_OFFICE,
    Role.OFFICE_LEAD: AgencyKind.YOUTH_OFFICE,
    Role.DISTRICT_COORDINATOR: AgencyKind.COORDINATION,
    Role.DATA_PROTECTION_OFFICER: AgencyKind.YOUTH_OFFICE,
}
POLICE_ROLES = (Role.POLICE_OFFICER, Role.POLICE_COORDINATOR)
OFFICE_ROLES = (Role.CASEWORKER, Role.OFFICE_LEAD)


class MembershipQuerySet(models.QuerySet):
    def active(self):
        return self.filter(agency__is_active=True, user__is_active=True)


class Membership(models.Model):
    """A person's role in an agency. Roles are what every access rule is built on; a person may hold
    several memberships (e.g. caseworker in one office and lead in another)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("person")
    )
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("agency"))
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.UniqueConstraint(fields=["user", "agency", "role"], name="membership_unique")]
        indexes = [models.Index(fields=["agency", "role"])]

    def __str__(self) -> str:
        return f"{self.user} – {self.get_role_display()} – {self.agency}"

    def clean(self):
        expected = ROLE_AGENCY_KIND.get(self.role)
        if self.agency_id and expected and self.agency.kind != expected:
            raise ValidationError(
                {
                    "role": _("The role %(role)s belongs to an agency of kind %(kind)s.")
                    % {"role": self.get_role_display(), "kind": AgencyKind(expected).label}
                }
            )


def memberships_of(user) -> list[Membership]:
    """The active memberships of ``user``, loaded once per user object (one query per request).

    The primitive under ``agencies.actor.actor_of``: every other module asks the actor."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    cached = getattr(user, "_memberships_cache", None)
    if cached is None:
        cached = list(Membership.objects.active().filter(user=user).select_related("agency", "agency__parent"))
        user._memberships_cache = cached
    return cached


class BackupCodeDevice(ThrottlingMixin, Device):
    """Single-use codes as a second factor (django-otp device), stored only as keyed hashes.

    Two purposes: ``backup`` — the ten codes a person receives when setting up the authenticator
    app, for when the phone is not at hand; ``recovery`` — one code an office lead or administrator
    issues after resetting a person's second factor (``agencies.mfa.mfa_reset``), handed over after
    checking who is asking. A recovery code expires and, once used, allows nothing but setting up a
    new authenticator app (config.middleware.SecondFactorMiddleware): recovery never bypasses the
    second factor, it is one.
    """

    class Purpose(models.TextChoices):
        BACKUP = "backup", _("Backup codes")
        RECOVERY = "recovery", _("Recovery code")

    purpose = models.CharField(_("kind of codes"), max_length=10, choices=Purpose.choices, default=Purpose.BACKUP)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)

    class Meta(Device.Meta):
        verbose_name = _("backup code set")
        verbose_name_plural = _("backup code sets")
        constraints = [models.UniqueConstraint(fields=["user", "purpose"], name="backup_code_device_once_per_purpose")]

    def get_throttle_factor(self) -> int:
        return 1

    def verify_token(self, token) -> bool:
        from .mfa import code_digest  # mfa imports these models: imported when used

        allowed, _info = self.verify_is_allowed()
        if not allowed:
            return False
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return False
        deleted, _rows = self.codes.filter(digest=code_digest(token)).delete()
        if deleted:
            self.throttle_reset(commit=False)
            self.save()
            return True
        self.throttle_increment(commit=True)
        return False


class BackupCode(models.Model):
    """One unused code of a ``BackupCodeDevice``: its HMAC-SHA256 under the server key, never the
    code. Deleted when used."""

    device = models.ForeignKey(BackupCodeDevice, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64, db_index=True)

    class Meta:
        verbose_name = _("backup code")
        verbose_name_plural = _("backup codes")

    def __str__(self) -> str:
        return f"code {self.pk} of device {self.device_id}"  # never the digest


# --- API tokens -----------------------------------------------------------------------------------

API_TOKEN_SALT = "agencies.ApiToken"  # noqa: S105 - a salt (domain separation), not a secret
API_TOKEN_PREFIX_LENGTH = 8


def api_token_digest(key: str, secret=None) -> str:
    """The stored form of an API token key: HMAC-SHA256 under a key derived from ``SECRET_KEY``
    (or ``secret``, one of ``SECRET_KEY_FALLBACKS``), hex. The key itself is never stored."""
    return salted_hmac(API_TOKEN_SALT, key, secret=secret, algorithm="sha256").hexdigest()


class ApiToken(models.Model):
    """The API token of a person (one each; a new one replaces the old). The database holds the
    digest of the key and its first characters to recognise it in a list, never the key: a copy of
    the database gives no access to the interface. The key is shown once, when it is issued
    (``agencies.services.token_issue``)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="api_token",
        verbose_name=_("person"),
    )
    digest = models.CharField(_("digest"), max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("key begins with"), max_length=API_TOKEN_PREFIX_LENGTH, editable=False)
    created_at = models.DateTimeField(_("issued"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return gettext("API token of %(person)s") % {"person": self.user}  # never the digest or prefix


# --- Contact directory (Erreichbarkeiten) ------------------------------------------------------


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class OfficeHours(models.Model):
    """One opening span of an agency on a weekday (Monday 08:00–12:00); a weekday may have several
    spans (morning and afternoon) or none (closed). Public holidays in NRW are closed whatever the
    weekday says (``agencies.directory.is_open``)."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="office_hours", verbose_name=_("agency"))
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))

    class Meta:
        verbose_name = _("office hours")
        verbose_name_plural = _("office hours")
        ordering = ["agency", "weekday", "opens"]
        constraints = [
            models.CheckConstraint(condition=models.Q(closes__gt=models.F("opens")), name="office_hours_closes_after")
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class ContactPerson(models.Model):
    """A named contact of an agency (name, role, phone, e-mail), kept by its lead or coordinator.
    ``user`` links the entry to a person of the system, so police feedback can name the caseworker
    with a full name and a direct phone number instead of a user name."""

    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, related_name="contact_persons", verbose_name=_("agency")
    )
    name = models.CharField(_("name"), max_length=200)
    function = models.CharField(_("role"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contact_entries",
        verbose_name=_("person in the system"),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("contact person")
        verbose_name_plural = _("contact persons")
        ordering = ["agency", "position", "id"]

    def __str__(self) -> str:
        return self.name
