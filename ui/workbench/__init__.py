"""The IDE page's frame of parts: commands and panes are registered, and whatever shows them (the
palette, shortcuts, menus, the activity bar, the panel tabs) reads the registries."""
