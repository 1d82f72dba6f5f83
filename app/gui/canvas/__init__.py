"""The label canvas: an editable document of shapes and mask, its graphics scene, view, tools and undo commands."""
