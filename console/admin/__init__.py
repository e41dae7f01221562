"""The staff console's ModelAdmins, one module per thing a reader looks for:

- `stores`: the store list and the store page; `store_actions` (check now,
  pause, resume, disconnect), `credentials` (replacing a store's credentials),
  `exports` (the list as CSV), `filters`, `pagination`;
- `history`: checks and status changes; `audit`: the staff actions log;
- `incidents`: fleet-wide incidents (the page, closing by hand);
- `merchants`, `notifications`, `storehooks`, `api_tokens`: the other apps'.

Django's admin autodiscovery imports `console.admin`; importing the modules
here registers their ModelAdmins.
"""

from . import (  # noqa: F401
    api_tokens,
    audit,
    history,
    incidents,
    merchants,
    notifications,
    service_clients,
    storehooks,
    stores,
)
