"""How large a definition may be, and why: each limit sits below where a database, library or
the YAML reader would fail, so a definition that loads also publishes and serves.
"""

from __future__ import annotations

# Table, column and index names: tables.MAX_IDENTIFIER (PostgreSQL: 63 bytes).

# Reading a file
MAX_FILE_BYTES = 1_000_000  # a 500-field form is about 100 kB of YAML
MAX_DEPTH = 40  # a definition nests about 8 levels deep; the YAML reader recurses once per level
MAX_VALUES = 200_000  # values after aliases are expanded: a few lines of aliases can stand for billions
MAX_TEXT = 10_000  # characters in any one text (label, help, pattern, default)

# Names
MAX_NAME = 40  # form and field names; simpul_form.slug is VARCHAR(40)
MAX_ROLE_NAME = 64  # Flask-AppBuilder's ab_role.name is VARCHAR(64)

# Sizes of lists
MAX_FIELDS = 500  # per table: PostgreSQL allows 1,600 columns, and retired fields and type-change backups keep theirs
MAX_CHOICES = 1_000
MAX_RULES = 100
MAX_ROLES = 100
MAX_INDEX_COLUMNS = 32  # PostgreSQL's INDEX_MAX_KEYS, for each unique_together group
MAX_NAMES = MAX_FIELDS  # any other list of names (order_by, accept, a rule's fields)

# Columns
MAX_VARCHAR = 10_485_760  # PostgreSQL's largest VARCHAR(n)
MAX_PRECISION = 1_000  # PostgreSQL's largest NUMERIC(p)
MAX_CHOICE_VALUE = 64  # choice columns are VARCHAR(64)
MAX_WHOLE = 2**63 - 1  # BIGINT; no whole number in a definition needs more
