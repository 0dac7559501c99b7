"""The engine: a render plan's frames read, colour-managed, stylized and written."""
