"""E-mail digests: subscriptions with double opt-in, preferences, composition and crash-safe delivery.

docs/digests.md has the design. The pure parts (`compose`, `tokens`) import no web framework or driver.
"""
