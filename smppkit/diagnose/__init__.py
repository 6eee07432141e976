"""Logs in, answers out: log readers into pandas, analyses, the receipt doctor, plots and the
HTML report."""
