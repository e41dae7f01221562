"""Signing in with a second factor (django-otp): a TOTP authenticator app, and
ten one-time recovery codes for the day the phone is lost.

Staff must: every /admin/ URL wants a verified session (`middleware`), a
staff member with no device is sent to enrol at once, and the admin site
itself checks too (`console/site.py`). Merchants may turn it on from their account
page. Once a person has a device, the password alone no longer logs them in:
the login parks them as "pending" until a code is given (`views.verify`).

- `services`: the rules (enrol, verify, recovery codes, reset, pending login)
- `views`, `forms`, `urls`: the pages (templates under merchants/templates/two_factor/)
- `middleware`: the /admin/ guard
The admin site that wants a verified session (`console/site.py`, installed by
`console/admin_app.py`) and the console's page of second factors
(`console/admin/two_factor.py`) live with the rest of the staff console.
"""
