# Reserved for issue 15 § 3 (print and PDF of a case, hand-over records); the operations are filled in with that work.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("referrals", "0018_police_dialogue")]

    operations = []
