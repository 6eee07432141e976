"""Notebook helpers: the lab (which SMSC a notebook talks to), ipywidgets tools, sample datasets."""
