"""mastery-site: a static site generator for progress portfolios."""

__version__ = "0.1.0"
