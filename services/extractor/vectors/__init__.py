"""Chunk vectors behind one interface (`points.VectorStore`), with two engines: Qdrant Edge
embedded in the extractor (the default, `TRAWL_QDRANT_PATH`: `edge.py`) and a Qdrant server
(`TRAWL_QDRANT_URL`: `server.py`); `index.py` holds the live collection and the one a reindex
builds. Nothing is imported here: the Edge host process imports `edge_shard` alone, light."""
