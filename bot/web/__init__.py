"""The web chat: HoSo's own front end, served from the province's server to any browser.

A transport, not a second code path: a typed line or a button press becomes an aiogram Update fed to the
one Dispatcher, and whatever the handlers send through the Bot is turned into events of the account's
conversation (`transport`), pushed live over a WebSocket and replayed when the page opens. The pages,
sessions, CSRF tokens, security headers and rate limits around it are this package's.
"""
