"""Copy attachment files from a folder (made by ``files_export``) into the configured private
storage (restore): ``python manage.py files_import /backup/2026-12-05/dateien``. Each file keeps its
name, so the restored database rows find them. Run it after ``pg_restore`` against the new storage;
files already present are left alone, so it can be run again (docs/betrieb.md)."""

from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from core.storage import field_storage
from referrals.models import Attachment


class Command(BaseCommand):
    help = "Copy attachments from a folder (files_export) into the private storage (restore)."

    def add_arguments(self, parser):
        parser.add_argument("folder")

    def handle(self, folder, **options):
        source = Path(folder)
        if not source.is_dir():
            raise CommandError(f"no such folder: {source}")
        storage = field_storage("referrals.Attachment.file")
        copied = present = missing = 0
        for name in Attachment.objects.exclude(file="").values_list("file", flat=True).iterator():
            path = source / name
            if not path.is_file():
                missing += 1
                self.stderr.write(f"missing in the backup: {name}")
                continue
            if storage.exists(name):
                present += 1
                continue
            with path.open("rb") as handle:
                saved = storage.save(name, File(handle, name=name))
            if saved != name:
                raise CommandError(f"the storage stored {name} as {saved}")
            copied += 1
        self.stdout.write(f"{copied} files copied into the storage, {present} already there, {missing} missing")
        if missing:
            raise CommandError(f"{missing} files of the database are missing in the backup")
