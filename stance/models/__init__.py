"""Classifiers built from config, and saving / loading fitted pipelines safely."""
