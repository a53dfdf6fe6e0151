"""Each conversation remembers the model its prompts go to."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0003_conversation_trees")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Conversation",
            name="model",
            field=fields.CharField(null=True, max_length=200),
        ),
    ]
