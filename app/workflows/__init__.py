"""Workflow engine: states and role-gated transitions of a form's records, deadlines, escalation.

The pure core imports nothing from Flask or SQLAlchemy and is tested without an app:

- `spec.py`         frozen WorkflowSpec / StateSpec / TransitionSpec / LadderLevel
- `definition.py`   the `workflow:` block of a form definition (format documented there):
                    parse and validate with located errors; a new version against the records
                    of the old one; the state field the engine adds to the form
- `calendar.py`     working days (Mon–Fri less national holidays, cuti bersama, local
                    holidays) in the office's zone; deadlines; seeding from `holidays`
- `clock.py`        the injectable clock (system, or fixed and movable for tests)
- `ladder.py`       a stay's deadline, overdue days, and which escalation levels are due
- `transitions.py`  the steps a user may take, and why a step is refused

`runtime/` is the edge: the scheduler process, jobs and the e-mail outbox.
"""
