"""The staff console's ModelAdmins, one module per thing a reader looks for.

Django's admin autodiscovery imports `console.admin`; importing the modules
here registers their ModelAdmins.
"""

from . import api_tokens, merchants, notifications, storehooks, stores  # noqa: F401
