"""Workflow engine (referral states, working-day deadlines, escalation ladder): next issues.

Planned shape, kept pure like the form engine: definitions validated at load (states and
role-gated transitions), deadlines counted in working days (national holidays plus cuti
bersama entered by admins), escalation timers stored as rows with a due time and swept by a
separate APScheduler process, each level fired exactly once.
"""
