"""The People page: people, their roles, one-time set-password links and the audit trail.

Views in `views.py`, writes in `services.py`, reads in `selectors.py`; the rows are in
`webapp.models` (SetPasswordLink, AuditRecord).
"""
