"""Builders for test data: valid referral payloads and referrals made through the services."""

import datetime

from django.utils import timezone

from referrals.services import referral_save


def referral_payload(*, postcode="40721", city="Hilden", urgency="urgent", **overrides) -> dict:
    """A complete, valid referral as the API takes it (JSON types)."""
    incident = (timezone.now() - datetime.timedelta(hours=3)).replace(microsecond=0)
    payload = {
        "police_case_number": "ME-2026-123456",
        "incident_at": incident.isoformat(),
        "incident_location": "Wohnung der Familie",
        "urgency": urgency,
        "concerns": ["domestic_violence"],
        "facts_observed": "Lautstarker Streit, zerbrochenes Geschirr, Kind weinend im Flur.",
        "facts_reported": "Nachbarin berichtet von wiederholtem Streit.",
        "children_present": "witnessed",
        "police_measures": ["residence_ban"],
        "household_address": {"street": "Mittelstraße", "house_number": "12", "postcode": postcode, "city": city},
        "children": [
            {
                "first_name": "Mia",
                "last_name": "Beispiel",
                "date_of_birth": "2019-04-02",
                "sex": "female",
                "whereabouts": "bei der Mutter",
                "school_or_kita": "Kita Sonnenschein",
            }
        ],
        "persons": [
            {
                "role": "father",
                "first_name": "Tom",
                "last_name": "Beispiel",
                "date_of_birth": "1988-01-15",
                "phone": "0170 1234567",
                "has_custody": True,
                "is_suspect": True,
            }
        ],
        "risk_factors": ["alcohol"],
        "parents_informed": True,
        "parents_not_informed_reason": "",
        "callback_phone": "02103 898-6410",
    }
    payload.update(overrides)
    return payload


def service_args(payload: dict) -> dict:
    """Turn an API payload into the keyword arguments of ``referral_save``."""
    fields = {k: v for k, v in payload.items() if k not in ("household_address", "children", "persons", "draft")}
    if fields.get("incident_at"):
        fields["incident_at"] = datetime.datetime.fromisoformat(fields["incident_at"])
    for key, value in payload.get("household_address", {}).items():
        fields[f"household_{key}"] = value
    children = [
        {**c, "date_of_birth": datetime.date.fromisoformat(c["date_of_birth"]) if c.get("date_of_birth") else None}
        for c in payload.get("children", [])
    ]
    persons = [
        {**p, "date_of_birth": datetime.date.fromisoformat(p["date_of_birth"]) if p.get("date_of_birth") else None}
        for p in payload.get("persons", [])
    ]
    return {"fields": fields, "children": children, "persons": persons}


def make_referral(user, *, submit=True, **payload_overrides):
    """A referral filed by ``user`` through the real service (routed and notified when submitted)."""
    return referral_save(user=user, submit=submit, **service_args(referral_payload(**payload_overrides)))


def totp_code_now(device) -> str:
    """The authenticator app's code of this moment for ``device`` (what a phone would show)."""
    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def second_factor_code(user) -> str:
    """A code for the code step of a real login of ``user``: gives them an authenticator app if they
    have none, and returns a fresh backup code — a TOTP code cannot be used twice within its 30
    seconds, a backup code can be issued for every login."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from agencies.mfa import backup_codes_issue

    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        TOTPDevice.objects.create(user=user, name="Test", confirmed=True)
    return backup_codes_issue(user=user)[0]


def pass_second_factor(client, user):
    """The second step of a real login, answered with ``second_factor_code``. Returns the answer."""
    from django.urls import reverse

    return client.post(reverse("mfa_verify"), {"code": second_factor_code(user)})


_API_KEYS: dict[int, str] = {}


def api_token(user) -> str:
    """The key of an API token of ``user``, issued on the first call (``token_issue``) and the same on
    later calls while that token exists. The database keeps no key to look up, so the key handed out
    is remembered here."""
    from agencies.models import ApiToken, api_token_digest
    from agencies.services import token_issue

    key = _API_KEYS.get(user.pk)
    if key is None or not ApiToken.objects.filter(user_id=user.pk, digest=api_token_digest(key)).exists():
        key = _API_KEYS[user.pk] = token_issue(user=user, by=None)
    return key
