"""Every Dash component id used across pages and callbacks."""
