"""The restore-validation Lambda's code: only ``handler.py`` is shipped (``handler.handler``)."""
