"""Every model, imported once so that SQLAlchemy's metadata (and Alembic) sees the whole schema."""

from disburse.api.idempotency import IdempotencyKey
from disburse.auth.models import ApiToken, AuditLog, User
from disburse.casework.models import PersonContact
from disburse.claims.models import Claim, ClaimEvent
from disburse.jobs.models import Job
from disburse.notifications.models import Notification
from disburse.payments.models import Payment, PaymentBatch, PaymentEvent
from disburse.programs.models import AmountTier, Program
from disburse.reductions.models import Reduction
from disburse.reference.models import Bank, District, Province
from disburse.registry.models import Employee, Employer, SalaryFund
from disburse.reports.models import (
    ClaimCounter,
    CompletionSnapshot,
    CompletionTarget,
    DecisionCounter,
    DistrictCounter,
    FailureCounter,
    ProvinceCounter,
    ReductionTotal,
    RollupRepair,
)
from disburse.verification.identities import ClaimIdentity

__all__ = [
    "AmountTier",
    "ApiToken",
    "AuditLog",
    "Bank",
    "Claim",
    "ClaimCounter",
    "ClaimEvent",
    "ClaimIdentity",
    "CompletionSnapshot",
    "CompletionTarget",
    "DecisionCounter",
    "District",
    "DistrictCounter",
    "Employee",
    "Employer",
    "FailureCounter",
    "IdempotencyKey",
    "Job",
    "Notification",
    "Payment",
    "PaymentBatch",
    "PaymentEvent",
    "PersonContact",
    "Program",
    "Province",
    "ProvinceCounter",
    "Reduction",
    "ReductionTotal",
    "RollupRepair",
    "SalaryFund",
    "User",
]
