"""Import files for the store import's tests: sandbox accounts as file rows."""

from __future__ import annotations

import json

from sandbox import scopes as sandbox_scopes
from sandbox.testing import RunningSandbox

HEADER = "merchant,merchant_name,owner_email,api_path,client_id,client_secret,access_token"


class Shop:
    """A fresh sandbox store and one API account of it."""

    def __init__(self, sandbox: RunningSandbox, scopes=sandbox_scopes.PORTAL_REQUIRED, store_hash=None):
        if store_hash and store_hash in sandbox.control.stores():
            sandbox.control.delete_store(store_hash)  # left by an earlier test of this module
        self.hash = sandbox.control.add_store(store_hash, profile={"name": "Sandbox shop"})["store_hash"]
        self.account = sandbox.control.add_account(self.hash, scopes)

    @property
    def secrets(self) -> tuple[str, str, str]:
        return self.account["access_token"], self.account["client_secret"], self.account["client_id"]

    def row(self, merchant: str = "acme", **changes: str) -> dict[str, str]:
        values = {
            "merchant": merchant,
            "merchant_name": "",
            "owner_email": "",
            "api_path": f"https://api.bigcommerce.com/stores/{self.hash}/v3/",
            "client_id": self.account["client_id"],
            "client_secret": self.account["client_secret"],
            "access_token": self.account["access_token"],
        }
        values.update(changes)
        return values


def csv_text(rows: list[dict[str, str]], header: str = HEADER) -> str:
    keys = HEADER.split(",")
    return header + "\n" + "".join(",".join(row[key] for key in keys) + "\n" for row in rows)


def jsonl_text(rows: list[dict[str, str]]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)
