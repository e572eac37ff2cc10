from referrals.models import Referral, Status
from tests.factories import make_referral


def test_submitted_referral_reaches_hilden(personas):
    referral = make_referral(personas.police_hilden)
    assert referral.status == Status.SUBMITTED
    assert referral.youth_office.code == "JA-HIL"
    assert referral.reference.startswith("KPB-ME-")
    assert list(Referral.objects.visible_to(personas.caseworker_hilden)) == [referral]
    assert list(Referral.objects.visible_to(personas.caseworker_velbert)) == []
