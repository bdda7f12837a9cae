"""dotmock: a `.mock` scenario language, an LLM API mock server and a resilience runner."""

__version__ = "0.1.0"
