"""The checks of deploy/validate.py, one module per kind of deployment file.

Each module has one entry point taking the shared `Context` (see context.py) and printing one
line per check through its `Report`. They read only files inside the repository.
"""
