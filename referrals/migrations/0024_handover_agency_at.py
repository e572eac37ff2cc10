# Issue 15 § 3: the list of an office's hand-overs outside the system, newest first, a page at a time
# (referrals.handover.handover_page_of) reads this index instead of sorting all of the office's rows.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("referrals", "0023_inbox_search_office_and_tab_indexes")]

    operations = [
        migrations.AddIndex(
            model_name="handover",
            index=models.Index(fields=["agency", "-at", "-id"], name="handover_agency_at"),
        ),
    ]
