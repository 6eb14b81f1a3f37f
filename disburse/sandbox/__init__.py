"""The sandbox bank: a simulated bank with its own small Flask app, its own PostgreSQL schema (``sandbox``) and its
own ledger, speaking the G2P Connect disbursement API. It is not part of the disburse app: disburse talks to it only
over HTTP, through :mod:`disburse.payments.sandbox_client`, as it would to a real bank.
"""
