"""Named queues. Every task routes to one of these and the worker consumes them all (a test checks)."""


class QueueNames:
    IMPORTS = "imports"
    VERIFICATION = "verification"
    PAYMENTS = "payments"
    PROVIDER_EVENTS = "provider-events"
    REPORTS = "reports"
    NOTIFICATIONS = "notifications"
    PERIODIC = "periodic"

    @classmethod
    def all(cls) -> list[str]:
        return [
            cls.IMPORTS,
            cls.VERIFICATION,
            cls.PAYMENTS,
            cls.PROVIDER_EVENTS,
            cls.REPORTS,
            cls.NOTIFICATIONS,
            cls.PERIODIC,
        ]
