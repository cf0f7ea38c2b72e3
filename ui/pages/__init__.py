"""One module per route group; `ui.app.register_pages` imports them."""
