"""``verification.verify``: one verification batch (an id list or an id range).

Thin: the identities commit first (:func:`disburse.verification.service.record_identities`), then the batch
(:func:`~disburse.verification.service.verify_batch`) commits on its own. ``acks_late``: a message whose worker
died mid-batch is delivered again, and the batch's rolled-back claims are still waiting, for it or for the
verification sweep. A batch finds only claims still waiting, so a redelivery, or two workers on one range, do no
harm. PostgreSQL may abort the batch to break a deadlock with another writer of the claims' rollups (a caseworker's
decision, a payment applied): it is verified again at once (:func:`~disburse.bulk.after_deadlocks`). Claims asked
for by id that another transaction held, and the batch passed over, are asked for again a few seconds later
(:data:`HELD_AGAIN_S`, up to :data:`HELD_TRIES` times), then left to the sweep.
"""

from __future__ import annotations

import logging
from functools import partial

from celery import shared_task

from disburse.bulk import after_deadlocks
from disburse.extensions import db
from disburse.verification import service

log = logging.getLogger(__name__)

#: Claims of a batch by id that another transaction held (the batch skips them, FOR UPDATE SKIP LOCKED: the same
#: Form 04 sent twice, a page saving the claim) are asked for again this soon, this many times, rather than wait for
#: the verification sweep's minutes.
HELD_AGAIN_S = 5
HELD_TRIES = 3


@shared_task(name="verification.verify", acks_late=True)
def verify(claim_ids: list[int] | None = None, id_range: list[int] | None = None, tries: int = 0) -> dict[str, int]:
    """Verify the waiting claims among ``claim_ids``, or with ids in ``id_range`` = [first, last]."""
    ids = list(claim_ids) if claim_ids is not None else None
    pair = _pair(id_range) if ids is None else None
    try:
        service.record_identities(ids=ids, id_range=pair)
        db.session.commit()
        result = after_deadlocks(partial(_verify_batch, ids, pair), on_retry=_deadlocked)
        held = service.still_waiting(ids) if ids and tries < HELD_TRIES else []
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if held:
        log.info("%d claims of the batch were held by another transaction; asked for again", len(held))
        verify.apply_async(kwargs={"claim_ids": held, "tries": tries + 1}, countdown=HELD_AGAIN_S)
    log.info("verified %s", result.as_dict(), extra=result.as_dict())
    return result.as_dict()


def _verify_batch(ids: list[int] | None, pair: tuple[int, int] | None) -> service.Verified:
    """One verification batch, verified and committed."""
    result = service.verify_batch(ids=ids, id_range=pair)
    db.session.commit()
    return result


def _deadlocked() -> None:
    log.warning("a verification batch was a deadlock's victim; verifying it again")


def _pair(id_range: list[int] | None) -> tuple[int, int]:
    if id_range is None or len(id_range) != 2:
        raise ValueError("verification.verify needs claim_ids or id_range=[first, last]")
    return int(id_range[0]), int(id_range[1])
