"""The one rule for e-mail addresses people type (sign-up, sign-in, digests, the `users` commands).

Pure: no framework, no database, no network. Built on email-validator, so the syntax is the RFC's and not
a regular expression of ours, with these choices:

- **No domain literals** (`a@[192.168.0.1]`) and **no special-use domains** (`.local`, `.localhost`,
  `.test`, `.invalid`, `.onion`, `.arpa`): mail to them cannot be delivered on the public internet, and
  letting anyone type them would point the site's mail relay at the machine's own network.
- **ASCII before the @** (no SMTPUTF8): the site's mail goes out with ASCII headers and envelopes, and most
  relays still refuse internationalized mailboxes. Internationalized domains are fine: stored IDNA-encoded.
- **At most 64 characters before the @** (email-validator's `strict`), as RFC 5321 lets servers insist.
- **No DNS look-up**: whether the domain takes mail is learnt by sending the confirmation.

The address is stored lower-cased whole, as both earlier rules did: plain ASCII addresses normalise exactly
as before, so the rows already stored keep matching.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

MAX_EMAIL = 254  # RFC 5321's limit on a forward path, less the angle brackets


class InvalidEmail(ValueError):
    """An address we cannot accept; the message says why, for the person who typed it."""


def normalize_email(value: object) -> str:
    """The address in the form we store and compare: trimmed, lower case, the domain in ASCII (IDNA).

    Raises `InvalidEmail`."""
    if not isinstance(value, str):
        raise InvalidEmail("The e-mail address must be text.")
    address = value.strip()
    if not address:
        raise InvalidEmail("Enter your e-mail address.")
    if len(address) > MAX_EMAIL:  # checked first: the validator need not read a megabyte
        raise InvalidEmail(f"An e-mail address has at most {MAX_EMAIL} characters.")
    try:
        valid = validate_email(
            address,
            check_deliverability=False,
            allow_smtputf8=False,
            allow_domain_literal=False,
            allow_quoted_local=False,
            allow_display_name=False,
            strict=True,
        )
    except EmailNotValidError as exc:
        reason = str(exc).rstrip(".")
        raise InvalidEmail(
            f"That does not look like an e-mail address: {reason[:1].lower()}{reason[1:]}."
        ) from None
    normalized = valid.ascii_email.lower()
    if len(normalized) > MAX_EMAIL:  # an internationalized domain grows when IDNA-encoded
        raise InvalidEmail(f"An e-mail address has at most {MAX_EMAIL} characters.")
    return normalized
