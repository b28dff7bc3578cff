"""The health-check Lambda's code. Only ``handler.py`` is shipped; it is imported as the
top-level module ``handler`` in the function (handler string ``handler.handler``)."""
