# Reserved for issue 15 §§ 1, 2, 4 (dashboards and the joint cooperation report: indexes or a roll-up
# table for the figures); the operations are filled in with that work.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("referrals", "0019_oversight")]

    operations = []
