"""HoSo test suite."""
