# Reserved for issue 13 (screening step, per-child assessment, statistics rows); the operations are filled in with that work.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("referrals", "0015_authority_created_index")]

    operations = []
