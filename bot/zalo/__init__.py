"""The Zalo channel: a client of the Zalo Bot API, and the transport that turns the Telegram methods the handlers
call into Zalo's (text only, numbered menus, links into the web chat)."""
