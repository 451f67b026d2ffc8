"""The map of the field: papers in 2-D from their embeddings, regions named by their key phrases."""
