"""Permission-matrix rows of the print, the PDF and the hand-over outside the system (issue 15 § 3),
merged into ``ENDPOINTS`` of tests/test_permissions.py, whose helpers are passed in (neither module
imports the other). The rule written out: the print and the PDF (page and API) answer 200 to the
referral's offices and its police, 404 to everyone else — also to the district coordinator and an
individual grant, who see the referral otherwise; including what was confided under § 65 SGB VIII is
the lead's of the responsible office (403 for everyone else in the print's scope). A hand-over's
confirmation and documents answer 200 to the people of the office that handed it over, 404 to anyone
else. The list of hand-overs answers the people of a youth office and the district coordinators with
only their offices' hand-overs, everyone else 403. The PDF itself is stubbed here (the matrix proves
the scope; tests/test_case_pdf.py the PDF)."""

import re
from unittest import mock

from django.contrib.auth import get_user_model

from referrals.handover import referral_hand_over

STUB = b"%PDF-1.7 stub"


# Who opens the list of hand-overs (/handovers/): the people of a youth office and the district coordinators.
HANDOVER_LIST = {
    "caseworker_hilden", "lead_hilden", "caseworker_velbert", "lead_velbert", "caseworker_duesseldorf",
    "district_coordinator", "coordinator_duesseldorf",
}  # fmt: skip


def _stub_pdfs():
    return mock.patch("referrals.print_views.print_pdf", return_value=STUB), mock.patch(
        "referrals.api.printing.print_pdf", return_value=STUB
    )


def printing_endpoints(*, web, api, visible, police, works_on, office_role) -> dict:
    def prints(persona, key, referrals):
        return key in visible[persona] and (persona in police or works_on(persona, key, referrals))

    def is_lead(persona, key, referrals):
        return persona.startswith("lead_") and office_role(persona, key, referrals) in ("office", "sender")

    def check_print(path, *, client_of):
        def check(persona, user, referrals):
            client = client_of(user)
            pages, apis = _stub_pdfs()
            with pages, apis:
                for key, referral in referrals.items():
                    url = path.format(pk=referral.pk)
                    status = client.get(url).status_code
                    assert status == (200 if prints(persona, key, referrals) else 404), (path, persona, key, status)
                    if prints(persona, key, referrals):
                        included = client.get(f"{url}?confidential=include").status_code
                        assert included == (200 if is_lead(persona, key, referrals) else 403), (path, persona, key)
                assert client.get(path.format(pk=987654)).status_code == 404

        return check

    def check_handover(what):
        def check(persona, user, referrals):
            lead = get_user_model().objects.get(username="lead_hilden")
            with mock.patch("referrals.handover.print_pdf", return_value=STUB):
                handover = referral_hand_over(referral=referrals["submitted_hilden"], user=lead, recipient="JA Köln")
            client = web(user)
            for key, referral in referrals.items():
                status = client.get(f"/referrals/{referral.pk}/handovers/{handover.pk}/{what}").status_code
                allowed = key == "submitted_hilden" and persona in ("caseworker_hilden", "lead_hilden")
                assert status == (200 if allowed else 404), ("handover", what, persona, key, status)

        return check

    def check_handover_list(persona, user, referrals):
        """``/handovers/``: 200 with only the hand-overs of the person's offices (one by Hilden's lead,
        one by the district coordinator from the triage queue), 403 for anyone in no youth office and
        no coordination office."""
        people = get_user_model().objects
        with mock.patch("referrals.handover.print_pdf", return_value=STUB):
            hilden = referral_hand_over(
                referral=referrals["submitted_hilden"], user=people.get(username="lead_hilden"), recipient="JA Köln"
            )
            triage = referral_hand_over(
                referral=referrals["triage"], user=people.get(username="district_coordinator"), recipient="JA Berlin"
            )
        response = web(user).get("/handovers/")
        if persona not in HANDOVER_LIST:
            assert response.status_code == 403, ("handovers", persona, response.status_code)
            return
        assert response.status_code == 200, ("handovers", persona, response.status_code)
        listed = {int(pk) for pk in re.findall(r'data-handover="(\d+)"', response.content.decode())}
        expected = {hilden.pk} if persona in ("caseworker_hilden", "lead_hilden") else set()
        expected |= {triage.pk} if persona == "district_coordinator" else set()
        assert listed == expected, ("handovers", persona, listed)

    return {
        "referrals:handovers": check_handover_list,
        "referrals:print": check_print("/referrals/{pk}/print/", client_of=web),
        "referrals:pdf": check_print("/referrals/{pk}/pdf/", client_of=web),
        "referral-pdf": check_print("/api/v1/referrals/{pk}/pdf/", client_of=api),
        "referrals:handover": check_handover(""),
        "referrals:handover_pdf": check_handover("pdf/"),
        "referrals:handover_json": check_handover("json/"),
    }
