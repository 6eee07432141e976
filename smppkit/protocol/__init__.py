"""The sans-IO SMPP v3.4 core: constants, errors, wire primitives, PDUs, codec and Session.

Nothing in this package does I/O (a test enforces it); `smppkit` re-exports its public names.
"""
