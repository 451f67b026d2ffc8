"""Search: keyword (tantivy), semantic (sentence embeddings + a usearch HNSW index) and their fusion."""
