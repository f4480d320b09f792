"""Benchmarks of HoSo: `python -m bench` (from the repository root) runs them all."""
