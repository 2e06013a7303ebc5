"""The report: executed notebooks, figures, tables and a change report in reports/."""
