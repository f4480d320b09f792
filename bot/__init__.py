"""Composition root: settings, the Bot and Dispatcher factory, middlewares, runners and the `hoso` CLI."""
