"""Use cases that span stores, called the same way by the web, the CLI and the worker."""
