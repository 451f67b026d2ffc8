"""Use cases that span stores and domains, called the same way by the web, the CLI and the worker.

Each module is one use case (or a few close ones); none imports a web framework, a CLI toolkit or a driver.
"""
