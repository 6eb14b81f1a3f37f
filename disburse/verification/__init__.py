"""Verification: the automatic checks that take a claim from ``employer_confirmed``, ``employer_overdue`` or
``applied`` to ``approved``, ``needs_review`` or ``rejected`` in set-based batches (:mod:`.service`, the checks'
SQL in :mod:`.checks`), the deadline and SLA sweepers (:mod:`.sweepers`), every reason code's labels
(:mod:`.reasons`), the caseworkers' review queue (:mod:`.review`, :mod:`.api`) and the written refusal notices
(:mod:`.notices`). Nothing is imported here, so that the labels can be read without loading the services."""
