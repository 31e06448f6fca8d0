"""courseware: trains and certifies peer mentors.

Deliberately empty: it runs before any submodule, so the domain layer stays free of Flask.
"""
