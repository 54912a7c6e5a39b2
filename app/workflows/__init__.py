"""Workflow engine: states and role-gated transitions of a form's records, deadlines, escalation.

The pure core imports nothing from Flask or SQLAlchemy and is tested without an app:

- `spec.py`         frozen WorkflowSpec / StateSpec / TransitionSpec / LadderLevel
- `definition.py`   the `workflow:` block of a form definition (format: README.md, "Workflows"):
                    parse and validate with located errors; a new version against the records
                    of the old one; the state field the engine adds to the form
- `calendar.py`     working days (Mon–Fri less national holidays, cuti bersama, local
                    holidays) in the office's zone; deadlines; seeding from `holidays`
- `clock.py`        the injectable clock (system, or fixed and movable for tests)
- `ladder.py`       a stay's deadline, overdue days, and which escalation levels are due
- `transitions.py`  the steps a user may take, and why a step is refused

The app layer (SQLAlchemy Core on the caller's connection, no Flask request objects):

- `models.py`       the tables: holidays, stays in a state, ladder timers, timeline events
- `service.py`      records in states: first stay of a new record (and the ORM flush hook the
                    generated screens install), transitions, entering a state (stay + timers),
                    moving records when a publish changes the workflow
- `holidays.py`     the office's calendar from the holiday table, seeding, recomputing due times
- `sweep.py`        the escalation sweep: due timers fired once per stay, with their e-mails
- `recipients.py`   who is notified at a ladder level (role and working area)

A form definition's `workflow:` is read by the form loader (app/forms_engine/loader.py, roles:
those that may view the form, and Admin) into `FormSpec.workflow`, with its state field among
the form's fields; app/forms_engine/publish.py moves records through `service.workflow_published`.

`runtime/` is the edge: the scheduler process, jobs and the e-mail outbox.
"""
