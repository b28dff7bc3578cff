"""Moved to :mod:`dr_constructs.audit` (the audit framework is not restore testing); its names
stay importable from here."""

from __future__ import annotations

from ..audit import (
    AUDIT_TAG,
    REPORT_PREFIX,
    REPORT_TEMPLATES,
    REPORTS_KEY_ACTIONS,
    REPORTS_ROLE,
    DrBackupAudit,
)

__all__ = [
    "AUDIT_TAG",
    "REPORTS_KEY_ACTIONS",
    "REPORTS_ROLE",
    "REPORT_PREFIX",
    "REPORT_TEMPLATES",
    "DrBackupAudit",
]
