"""`python -m bot.cli`: the `hoso` command line."""

from bot.cli import main

if __name__ == "__main__":
    main()
