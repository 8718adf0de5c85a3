"""clinicalner: multilingual clinical named-entity recognition with exact character spans.

Importing the package and reading, converting or evaluating corpora needs no torch;
training and tagging import it lazily.
"""

from clinicalner.document import Document, Span
from clinicalner.errors import CorpusError

__all__ = ["CorpusError", "Document", "Span"]
__version__ = "0.1.0"
