"""A password reset is one-time: its user chooses their own before doing anything else."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0014_api_keys")]

    initial = False

    operations = [
        ops.AddField(
            model_name="User",
            name="password_change_required",
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]
