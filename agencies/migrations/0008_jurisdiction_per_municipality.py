"""Jurisdiction by postcode and municipality (one instance for a state, issue 18): a postcode may
have one row per municipality, each belonging to an office of any district; ``(postcode,
municipality)`` is unique instead of the postcode. Existing rows get their municipality from the
first of their city names (the office's city as the seed wrote it). Postcodes accept ASCII digits
only (``[0-9]``; Python's ``\\d`` also matches other scripts' digits)."""

import re
import unicodedata

import django.core.validators
from django.db import migrations, models


def _normalize_city(name):
    # The rule of agencies.routing.normalize_city at the time of this migration (copied: a migration
    # must not change when the application code does).
    text = (name or "").casefold().strip()
    text = re.sub(r"\(.*?\)", " ", text)
    for umlaut, plain in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, plain)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"\b(am rhein|rhld|rheinland)\b", " ", text)
    text = re.sub(r"[^a-z]+", "", text)
    return text.replace("ae", "a").replace("oe", "o").replace("ue", "u")


def municipality_from_city_names(apps, schema_editor):
    JurisdictionArea = apps.get_model("agencies", "JurisdictionArea")
    for area in JurisdictionArea.objects.select_related("youth_office").iterator():
        names = [part.strip() for part in area.city_names.split(",") if part.strip()]
        area.municipality = names[0] if names else (area.youth_office.city or area.postcode)
        area.municipality_key = _normalize_city(area.municipality)
        area.save(update_fields=["municipality", "municipality_key"])


POSTCODE = django.core.validators.RegexValidator("\\A[0-9]{5}\\Z", "A German postcode has exactly five digits.")


class Migration(migrations.Migration):
    dependencies = [
        ("agencies", "0007_contact_directory"),
    ]

    operations = [
        migrations.AddField(
            model_name="jurisdictionarea",
            name="municipality",
            field=models.CharField(default="", max_length=100, verbose_name="municipality"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="jurisdictionarea",
            name="municipality_key",
            field=models.CharField(
                default="", editable=False, max_length=100, verbose_name="municipality (normalised)"
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="jurisdictionarea",
            name="ags",
            field=models.CharField(
                blank=True,
                help_text="Amtlicher Gemeindeschlüssel, eight digits, e.g. 05158016 for Hilden.",
                max_length=8,
                validators=[
                    django.core.validators.RegexValidator(
                        "\\A[0-9]{8}\\Z",
                        "A municipality key (Amtlicher Gemeindeschlüssel) has exactly eight digits.",
                    )
                ],
                verbose_name="municipality key (AGS)",
            ),
        ),
        migrations.RunPython(municipality_from_city_names, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="jurisdictionarea",
            name="postcode",
            field=models.CharField(max_length=5, validators=[POSTCODE], verbose_name="postcode"),
        ),
        migrations.AlterField(
            model_name="jurisdictionarea",
            name="city_names",
            field=models.CharField(
                blank=True,
                help_text="Comma-separated spellings of the city, e.g. Langenfeld, Langenfeld (Rhld.)",
                max_length=300,
                verbose_name="other spellings",
            ),
        ),
        migrations.AlterModelOptions(
            name="jurisdictionarea",
            options={
                "ordering": ["postcode", "municipality_key"],
                "verbose_name": "postcode area",
                "verbose_name_plural": "postcode areas",
            },
        ),
        migrations.AddConstraint(
            model_name="jurisdictionarea",
            constraint=models.UniqueConstraint(
                fields=("postcode", "municipality_key"), name="postcode_area_one_office_per_municipality"
            ),
        ),
        migrations.AddIndex(
            model_name="jurisdictionarea",
            index=models.Index(fields=["municipality_key"], name="postcode_area_municipality"),
        ),
    ]
