/* List screens: filter panel, active filters, quick search. */
