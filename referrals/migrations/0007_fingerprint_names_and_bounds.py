"""Repeat-referral fingerprints: rebuilt with the name normalisation that keeps every script, and an
index for the bounded lookup (docs/domain.md, "Wiederholte Mitteilungen (Fingerabdruck)").

A stored fingerprint is an HMAC and cannot be turned back into the name, so each is recomputed from
the children of its referral, which exist as long as the referral does (fingerprints are deleted
with it). Each receipt (referral, office, time) gets one row per child that can be fingerprinted
now. Rows of referrals none of whose children can be fingerprinted — no date of birth, or names with
no letters, which the old normaliser turned into a shared empty name — are deleted. Undoing the
migration keeps the rebuilt rows: the old normalisation is not worth restoring.
"""

from django.db import migrations, models

BATCH = 500


def rebuild_fingerprints(apps, schema_editor):
    from referrals.services import child_digest  # the current rule, so that new and rebuilt rows agree

    ChildFingerprint = apps.get_model("referrals", "ChildFingerprint")
    Child = apps.get_model("referrals", "Child")
    referral_ids = list(
        ChildFingerprint.objects.order_by("referral_id").values_list("referral_id", flat=True).distinct()
    )
    for start in range(0, len(referral_ids), BATCH):
        batch = referral_ids[start : start + BATCH]
        digests: dict[int, set[str]] = {}
        for child in Child.objects.filter(referral_id__in=batch).only(
            "referral_id", "first_name", "last_name", "date_of_birth"
        ):
            digest = child_digest(
                first_name=child.first_name, last_name=child.last_name, date_of_birth=child.date_of_birth
            )
            if digest:
                digests.setdefault(child.referral_id, set()).add(digest)
        receipts = (
            ChildFingerprint.objects.filter(referral_id__in=batch)
            .order_by("referral_id", "received_at", "office_id")
            .values_list("referral_id", "office_id", "received_at")
            .distinct()
        )
        rows = [
            ChildFingerprint(digest=digest, referral_id=referral_id, office_id=office_id, received_at=received_at)
            for referral_id, office_id, received_at in receipts
            for digest in sorted(digests.get(referral_id, ()))
        ]
        ChildFingerprint.objects.filter(referral_id__in=batch).delete()
        ChildFingerprint.objects.bulk_create(rows, batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0006_access_log_search"),
    ]

    operations = [
        migrations.AlterField(
            model_name="childfingerprint",
            name="digest",
            field=models.CharField(max_length=64),
        ),
        migrations.AddIndex(
            model_name="childfingerprint",
            index=models.Index(fields=["digest", "received_at"], name="fingerprint_digest_received"),
        ),
        migrations.RunPython(rebuild_fingerprints, migrations.RunPython.noop, elidable=False),
    ]
