"""Sandbox runner adapters (bubblewrap, Docker API, local): arrive with the compile-and-run issue."""
