"""The web app (NiceGUI pages, REST API) and the CLI; `ui.app` is the composition root."""
