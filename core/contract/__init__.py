"""What both sides of the HTTP boundary share: the code string, errors, limits, field readers."""
