"""lrcourse: the package behind the learning-rate book."""
