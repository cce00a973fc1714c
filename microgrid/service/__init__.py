"""The service that wires poll → forecast → plan → control → historian on one clock."""
