# Reserved for issue 14 part 3 (questions to the police, police attachments); the operations are filled in with that work.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("referrals", "0017_tasks_signoff_requests")]

    operations = []
