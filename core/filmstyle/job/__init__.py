"""The job model: what to render, validated at the boundary into immutable values."""
