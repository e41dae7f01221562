"""Secret values the Sentry test hunts for (shaped like the real ones)."""

ACCESS_TOKEN = "sentryt0k3n9x8w7v6u5s4r3q2p1o0nm"
CLIENT_SECRET = "5e1f0c2d9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2e"
PASSWORD = "merch-hunter2-x9QzLpWv"
BEARER = "api-bearer-token-7f3a9c2e1b"
SESSION = "sessioncookievalue8d7c6b5a4f3e"
