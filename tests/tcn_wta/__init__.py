"""Tests of tcn_wta: the model, training, the applications and the report."""
