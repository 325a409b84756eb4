"""The package's version: the one place it is written (the package metadata is built from it)."""

VERSION = "0.2.0"
