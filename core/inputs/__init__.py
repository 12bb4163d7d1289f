"""Operator inputs (uploads, forms) turned into QNN request fields, checked before they are sent."""
