"""All-or-nothing imports of Excel (xlsx) and CSV files into any form.

reading.py reads the file (kind by content, encoding and delimiter found), mapping.py matches
columns to fields, cells.py turns spreadsheet cells into the engine's input (a NIK Excel rounded
is refused), validation.py checks every row with the engine's rules (bulk where stored data is
read), write.py writes all rows in the caller's transaction, annotated.py hands a refused file
back with its problems, command.py runs one import, job.py runs a large one in the scheduler.
"""
