"""Use cases and rules. Plain Python: no aiogram. Each service gets an actor, a unit of work and a clock,
and returns plain data, so Telegram, the terminal chat and the CLI share it."""
