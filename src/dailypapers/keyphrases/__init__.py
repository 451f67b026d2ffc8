"""Key phrases and key sentences of papers, extracted offline from the paper's text and its embedding."""

from dailypapers.keyphrases.extract import KeyPhrases, TokenVectors, extract

__all__ = ["KeyPhrases", "TokenVectors", "extract"]
