"""Figures drawn from results (never computing statistics): forest, funnel and friends."""
