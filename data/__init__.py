"""The shipped datasets and the default checkpoint, read as package data (see README.md)."""
