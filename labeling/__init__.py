"""Qt-free labeling: the label data model, projects on disk, and readers and writers for interchange formats."""
