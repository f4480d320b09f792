"""What the web chat refuses at its start, apart from the server: `hoso run` names it without loading the
server (jinja2 and the pages), which only `--web` serves."""


class WebListenError(Exception):
    """The web chat could not bind its address."""
