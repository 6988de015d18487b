"""Database layer: models, engine/session factories and migrations runner."""
