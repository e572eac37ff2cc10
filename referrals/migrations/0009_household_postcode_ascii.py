"""Postcodes stored with digits of another script before they were turned into ASCII digits at
input (docs/domain.md, "Plausible Angaben"): rewritten as ASCII digits, so that lists, exports and
routing see 40723. A referral that went to the triage queue because of such a postcode stays there;
the district coordinator assigns it as any other."""

from django.db import migrations


def postcodes_to_ascii(apps, schema_editor):
    from core.text import ascii_digits

    Referral = apps.get_model("referrals", "Referral")
    for referral in Referral.objects.exclude(household_postcode="").only("household_postcode").iterator():
        postcode = referral.household_postcode
        if not postcode.isascii() and ascii_digits(postcode) != postcode:
            Referral.objects.filter(pk=referral.pk).update(household_postcode=ascii_digits(postcode))


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0008_safety_net_kinds"),
    ]

    operations = [
        migrations.RunPython(postcodes_to_ascii, migrations.RunPython.noop, elidable=False),
    ]
