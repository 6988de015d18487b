"""The workflow engine: definitions, validation, compilation to LangGraph, and runs."""
