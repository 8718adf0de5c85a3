"""OMOP CDM v5.4: notes in from ``NOTE``, entities out to ``NOTE_NLP`` (SQLAlchemy, any database).

``ddl.py`` holds the two tables as the CDM defines them and checks an existing ``NOTE_NLP``;
``languages.py`` maps ``language_concept_id`` to our language codes; ``tag.py`` tags notes
incrementally, one transaction per batch; ``documents.py`` turns NOTE (+ NOTE_NLP) rows into
Documents and back, so ``convert`` and ``evaluate`` read a warehouse like any corpus.
Needs the ``omop`` extra (sqlalchemy; psycopg for PostgreSQL).
"""
