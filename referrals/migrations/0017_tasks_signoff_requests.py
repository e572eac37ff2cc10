# Reserved for issue 14 parts 1-2 (tasks and Wiedervorlage, sign-off requests); the operations are filled in with that work.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("referrals", "0016_screening_child_assessment")]

    operations = []
