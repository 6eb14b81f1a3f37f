"""The last active admin is never deactivated nor demoted: nobody could manage users any more. Two admins doing it
to each other at the same moment, each on a real connection of its own: the second waits for the first's lock,
counts again and is refused, in both languages; one admin stays active."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import delete, or_, select, text

from disburse.admin import service
from disburse.auth.models import AuditLog, User
from disburse.extensions import db
from tests.factories import create_user

# pg_locks, not pg_stat_activity: the statistics views keep one snapshot for the whole transaction.
_SOMEONE_WAITS_FOR_ME = text(
    "SELECT EXISTS (SELECT FROM pg_locks WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid)))"
)


def _at_once(app: Any, first_act: Any, second_act: Any) -> tuple[str, str]:
    """Two admins, committed; ``first_act(first, second)`` runs on this connection and holds its transaction open
    until ``second_act(first, second)``, on a connection of its own, waits for a lock of it (or 5 s have passed,
    when it did not need one); then both commit what they could. What each did: ``done`` or the refusal's words."""
    with app.app_context():
        assert not db.session.scalar(select(User.id).where(User.role == "admin", User.active.is_(True)).limit(1))
        first, second = create_user("admin"), create_user("admin")
        db.session.commit()
        ids = (first.id, second.id)
        outcomes: dict[str, str] = {}
        try:
            first_act(first, second)

            def other() -> None:
                with app.app_context():
                    one, two = db.session.get(User, ids[0]), db.session.get(User, ids[1])
                    try:
                        second_act(one, two)
                    except service.AdminRefused as exc:
                        db.session.rollback()
                        outcomes["second"] = f"{exc.message_vi} / {exc.message_en}"
                    else:
                        db.session.commit()
                        outcomes["second"] = "done"
                    finally:
                        db.session.remove()

            thread = threading.Thread(target=other)
            thread.start()
            deadline = time.monotonic() + 5
            while not db.session.execute(_SOMEONE_WAITS_FOR_ME).scalar_one() and time.monotonic() < deadline:
                time.sleep(0.02)
            db.session.commit()
            outcomes["first"] = "done"
            thread.join(30)
            assert not thread.is_alive()
            active = db.session.scalars(select(User.id).where(User.id.in_(ids), User.active, User.role == "admin"))
            assert len(list(active)) == 1, outcomes
            return outcomes["first"], outcomes["second"]
        finally:
            db.session.rollback()
            db.session.execute(
                delete(AuditLog).where(
                    or_(
                        AuditLog.actor_id.in_(ids),
                        (AuditLog.object_type == "user") & AuditLog.object_id.in_([str(i) for i in ids]),
                    )
                )
            )
            db.session.execute(delete(User).where(User.id.in_(ids)))
            db.session.commit()
            db.session.remove()


LAST = (
    "Đây là quản trị viên duy nhất còn hoạt động: hãy giao vai trò quản trị cho người khác trước. / "
    "This is the only active admin left: make someone else an admin first."
)


def test_two_admins_deactivating_each_other_at_once_leave_one_active(app):
    outcomes = _at_once(
        app,
        lambda first, second: service.deactivate_user(second, actor=first),
        lambda first, second: service.deactivate_user(first, actor=second),
    )
    assert outcomes == ("done", LAST)


def test_two_admins_demoting_each_other_at_once_leave_one_admin(app):
    def demote(user: User, actor: User) -> None:
        service.update_user(
            user,
            role="supervisor",
            full_name=user.full_name,
            district=None,
            province=None,
            employer_unit=None,
            actor=actor,
        )

    outcomes = _at_once(app, lambda first, second: demote(second, first), lambda first, second: demote(first, second))
    assert outcomes == ("done", LAST)


def test_deactivating_and_demoting_at_once_leave_one_active_admin(app):
    outcomes = _at_once(
        app,
        lambda first, second: service.deactivate_user(second, actor=first),
        lambda first, second: service.update_user(
            first, role="supervisor", full_name="", district=None, province=None, employer_unit=None, actor=second
        ),
    )
    assert outcomes == ("done", LAST)
