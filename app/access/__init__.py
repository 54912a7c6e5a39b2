"""Who may do what: logins (local accounts and the office directory), lockout, roles and
per-form permissions, working areas (region scoping), personal-data masking with its access
log, the audit trail, and CSRF protection."""
