"""Figures and the comparison report, made from the files the other stages wrote."""
