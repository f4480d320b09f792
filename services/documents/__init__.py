"""Renderers of printable documents (python-docx, openpyxl, matplotlib) from plain data."""
