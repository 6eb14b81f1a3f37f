"""Contact attempts with people who have no claim yet (the outreach list's group B people)

``person_contacts``: who phoned or visited whom, how, and what came of it, for the group B people of a district who
have not applied (Form 04); a claim's attempts stay ``contact`` notes on the claim. Append-only, as the other
histories: ``refuse_change`` (migration 0003), ``ENABLE ALWAYS``.

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_CHANNELS = "'phone', 'sms', 'commune_notice', 'home_visit'"
_OUTCOMES = "'reached', 'no_answer', 'message_left', 'wrong_contact_details'"


def upgrade() -> None:
    op.create_table(
        "person_contacts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.BigInteger(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=30), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(f"channel IN ({_CHANNELS})", name=op.f("ck_person_contacts_channel_known")),
        sa.CheckConstraint(f"outcome IN ({_OUTCOMES})", name=op.f("ck_person_contacts_outcome_known")),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_person_contacts_actor_id_users")),
        sa.ForeignKeyConstraint(
            ["employee_id"], ["employees.id"], name=op.f("fk_person_contacts_employee_id_employees")
        ),
        sa.ForeignKeyConstraint(["program_id"], ["programs.id"], name=op.f("fk_person_contacts_program_id_programs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_contacts")),
    )
    op.create_index("ix_person_contacts_person", "person_contacts", ["program_id", "employee_id", "id"])
    op.execute(
        "CREATE TRIGGER person_contacts_append_only BEFORE UPDATE OR DELETE ON person_contacts "
        "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
    )
    op.execute("ALTER TABLE person_contacts ENABLE ALWAYS TRIGGER person_contacts_append_only")


def downgrade() -> None:
    op.drop_table("person_contacts")
