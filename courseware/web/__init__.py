"""The web layer: the app factory, blueprints by audience, forms, security."""
