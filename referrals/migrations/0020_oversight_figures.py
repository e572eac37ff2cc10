# Issue 15 §§ 1, 2, 4: indexes for the dashboards (referrals.dashboard) — an office's receipts of a
# period, an authority's filings of a period, risk assessments and screenings completed in a period.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("referrals", "0019_oversight")]

    operations = [
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(fields=["youth_office", "received_at"], name="referral_office_received_at"),
        ),
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(fields=["police_authority", "submitted_at"], name="referral_authority_submitted"),
        ),
        migrations.AddIndex(
            model_name="assessment",
            index=models.Index(fields=["signed_off_at"], name="assessment_signed_off"),
        ),
        migrations.AddIndex(
            model_name="screening",
            index=models.Index(fields=["signed_off_at"], name="screening_signed_off"),
        ),
        migrations.AddIndex(
            model_name="screening",
            index=models.Index(fields=["created_at"], name="screening_created"),
        ),
    ]
